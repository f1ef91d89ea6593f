// fuzz target `ingest-payload`: a whole `ingest --format payload` file (see Common/IngestFuzzing.swift).
@testable import ThingLogCore
@testable import ThingLogStore
@testable import ThingLogIngest

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafeRawPointer, _ size: Int) -> CInt {
    fuzzIngest(.payload, data, size)
}
