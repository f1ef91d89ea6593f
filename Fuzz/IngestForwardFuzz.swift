// fuzz target `ingest-forward`: a whole `ingest --format forward` file (see Common/IngestFuzzing.swift).
@testable import ThingLogCore
@testable import ThingLogStore
@testable import ThingLogIngest

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafeRawPointer, _ size: Int) -> CInt {
    fuzzIngest(.forward, data, size)
}
