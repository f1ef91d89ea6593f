// fuzz target `ingest-mosquitto`: a whole `ingest --format mosquitto` file (see Common/IngestFuzzing.swift).
@testable import ThingLogCore
@testable import ThingLogStore
@testable import ThingLogIngest

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafeRawPointer, _ size: Int) -> CInt {
    fuzzIngest(.mosquitto, data, size)
}
