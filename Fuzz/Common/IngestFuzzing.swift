// The body of the `ingest-*` fuzz targets: the input is a whole ingest file. It is read with LineReader (from a
// scratch file, with a small line limit and buffer so that growing, compacting and over-long lines are exercised)
// and every line goes through LineDecoder — IngestFormat.decode, then ReportParser.entry — as Ingester does.
// Oracle: LineReader yields exactly the newline-separated lines of the input.
@testable import ThingLogCore
@testable import ThingLogStore
@testable import ThingLogIngest

/// The line limit of the fuzzed reader (the real one allows 16 MiB).
let fuzzMaximumLineBytes = 8192

nonisolated(unsafe) private var scratch: ScratchFile?

func fuzzIngest(_ format: IngestFormat, _ data: UnsafeRawPointer, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data.assumingMemoryBound(to: UInt8.self), count: size)
    let file = scratch ?? ScratchFile(name: "ingest.\(format.rawValue)")
    scratch = file
    file.write(bytes)

    let decoder = LineDecoder(format: format, parser: ReportParser(template: fuzzTemplate),
                              topic: "$thing/up/property/CS0SLTKSYA/dev1", clock: { fixedNow })
    let reader = LineReader(fileDescriptor: file.descriptor, maximumLineBytes: fuzzMaximumLineBytes,
                            initialCapacity: 16)
    let expected = splitLines(bytes)
    var index = 0
    while let line = try? reader.next() {
        fuzzCheck(index < expected.count, "LineReader returned more than the \(expected.count) lines of the input")
        let raw = UnsafeBufferPointer(rebasing: bytes[expected[index]])
        switch line {
        case .text(let text):
            fuzzCheck(raw.count <= fuzzMaximumLineBytes, "a line of \(raw.count) bytes came back whole")
            let trimmed = raw.last == 0x0D ? UnsafeBufferPointer(rebasing: raw.dropLast()) : raw
            fuzzCheck(text.elementsEqual(trimmed), "line \(index) differs from the input's")
        case .tooLong(let prefix, let size):
            fuzzCheck(raw.count > fuzzMaximumLineBytes, "line \(index) of \(raw.count) bytes reported too long")
            fuzzCheck(size == raw.count, "line \(index): too-long size \(size), the line has \(raw.count) bytes")
            // What was buffered when the line proved too long: the limit plus one byte (the real limit, 16 MiB, is
            // far above the 64 KiB kept).
            let kept = min(Rejection.keptBytes, fuzzMaximumLineBytes + 1)
            fuzzCheck(prefix.elementsEqual(raw.prefix(kept)), "line \(index): too-long prefix differs")
        }
        _ = decoder.decode(line)
        index += 1
    }
    fuzzCheck(index == expected.count, "LineReader returned \(index) of the input's \(expected.count) lines")
    return 0
}
