// Helpers shared by the ThingLog fuzz targets (compiled into each of them, not into thinglog).
@testable import ThingLogCore
@testable import ThingLogStore
@testable import ThingLogIngest
import Glibc

/// The receive time the fuzz targets use when the input does not choose one (2025-11-24).
let fixedNow: Int64 = 1_764_000_000_000

/// The whole content of a file, or nil.
func readFile(_ path: String) -> [UInt8]? {
    guard let file = fopen(path, "rb") else { return nil }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = fread(&chunk, 1, chunk.count, file)
        if count <= 0 { break }
        bytes.append(contentsOf: chunk[0..<count])
    }
    return bytes
}

/// Where the example product's data template is, when `THINGLOG_FUZZ_TEMPLATE` names one (scripts/fuzz sets it).
let fuzzTemplatePath: String? = getenv("THINGLOG_FUZZ_TEMPLATE").map { String(cString: $0) }

/// That template: ingest and subscribe parse with the configured template, so the targets do too.
let fuzzTemplate: DataTemplate? = {
    guard let path = fuzzTemplatePath, let bytes = readFile(path), let json = try? JSONParser.parse(bytes) else {
        return nil
    }
    return try? DataTemplate(json: json)
}()

/// Stops the run with a message libFuzzer's log keeps: an oracle disagreed.
func fuzzCheck(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
               file: StaticString = #fileID, line: UInt = #line) {
    if !condition() {
        let text = "fuzz check failed (\(file):\(line)): \(message())\n"
        _ = text.withCString { write(2, $0, strlen($0)) }
        abort()
    }
}

/// The lines of `bytes` as `LineReader` defines them: split at `\n`, no final empty line, a trailing `\r` kept here
/// (the caller compares raw lengths).
func splitLines(_ bytes: UnsafeBufferPointer<UInt8>) -> [Range<Int>] {
    var lines: [Range<Int>] = []
    var start = 0
    for index in 0..<bytes.count where bytes[index] == 0x0A {
        lines.append(start..<index)
        start = index + 1
    }
    if start < bytes.count { lines.append(start..<bytes.count) }
    return lines
}

/// A short text for an outcome, for comparing two ways of parsing the same message.
func summary(_ entry: StoreEntry) -> String {
    switch entry {
    case .rejected(let rejection):
        return "rejected \(rejection.reason.rawValue) at \(rejection.receivedAt), \(rejection.size) bytes"
    case .accepted(let accepted):
        let message = accepted.message, parsed = accepted.parsed
        return "accepted \(parsed.topic.description) \(parsed.method ?? "-") at \(message.receivedAt) "
            + "token \(parsed.clientToken.map { JSONWriter.serialize(.string($0)) } ?? "-") "
            + "device \(parsed.deviceTimestamp.map(String.init) ?? "-") skew \(parsed.isClockSkewed) "
            + "readings \(parsed.readings.map { "\($0.metric)=\($0.value)" }) events \(parsed.events.count) "
            + "range \(parsed.outOfRangeCount) unknown \(parsed.unknownPropertyCount) "
            + "invalid \(parsed.invalidPropertyIDCount)"
    }
}

/// Paths of scratch files and directories, removed at a normal exit (after a crash they stay in `$TMPDIR`, which
/// scripts/fuzz points into its own temporary directory).
nonisolated(unsafe) private var scratchPaths: [String] = []

/// A scratch file in a private temporary directory, for targets that hand their input to code reading a file
/// descriptor or a path.
final class ScratchFile {
    let directory: String
    let path: String
    let descriptor: Int32

    init(name: String) {
        let base = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        var template = Array((base + "/thinglog-fuzz.XXXXXX").utf8CString)
        guard let created = mkdtemp(&template) else { fatalError("cannot create a directory in \(base)") }
        directory = String(cString: created)
        path = directory + "/" + name
        descriptor = open(path, O_RDWR | O_CREAT | O_TRUNC, 0o600)
        precondition(descriptor >= 0, "cannot create \(path)")
        if scratchPaths.isEmpty {
            atexit {
                for path in scratchPaths.reversed() where unlink(path) != 0 { rmdir(path) }
            }
        }
        scratchPaths += [directory, path]
    }

    /// Replaces the file's content and rewinds it.
    func write(_ bytes: UnsafeBufferPointer<UInt8>) {
        precondition(ftruncate(descriptor, 0) == 0)
        var written = 0
        while written < bytes.count {
            let count = pwrite(descriptor, bytes.baseAddress! + written, bytes.count - written, off_t(written))
            precondition(count > 0, "cannot write \(path)")
            written += count
        }
        precondition(lseek(descriptor, 0, SEEK_SET) == 0)
    }

    /// Puts a copy of `bytes` at `relativePath` (one subdirectory deep at most) next to the scratch file.
    func addSibling(_ relativePath: String, bytes: [UInt8]) {
        let parts = relativePath.split(separator: "/")
        if parts.count == 2 {
            let subdirectory = directory + "/" + parts[0]
            if mkdir(subdirectory, 0o700) == 0 { scratchPaths.append(subdirectory) }
        }
        let sibling = directory + "/" + relativePath
        guard let file = fopen(sibling, "wb") else { return }
        _ = bytes.withUnsafeBufferPointer { fwrite($0.baseAddress, 1, $0.count, file) }
        fclose(file)
        scratchPaths.append(sibling)
    }
}
