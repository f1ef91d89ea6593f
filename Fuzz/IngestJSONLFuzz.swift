// fuzz target `ingest-jsonl`: a whole `ingest --format jsonl` file (see Common/IngestFuzzing.swift).
@testable import ThingLogCore
@testable import ThingLogStore
@testable import ThingLogIngest

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafeRawPointer, _ size: Int) -> CInt {
    fuzzIngest(.jsonl, data, size)
}
