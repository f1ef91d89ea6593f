// fuzz target `ingest-payload`: a whole `ingest --format payload` file (see Common/IngestFuzzing.swift).
@testable import ThingLog

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafeRawPointer, _ size: Int) -> CInt {
    fuzzIngest(.payload, data, size)
}
