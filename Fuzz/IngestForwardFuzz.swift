// fuzz target `ingest-forward`: a whole `ingest --format forward` file (see Common/IngestFuzzing.swift).
@testable import ThingLog

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafeRawPointer, _ size: Int) -> CInt {
    fuzzIngest(.forward, data, size)
}
