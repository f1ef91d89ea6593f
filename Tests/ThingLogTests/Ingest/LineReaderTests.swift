import Foundation
import Testing
@testable import ThingLogIngest

@Suite struct LineReaderTests {
    func lines(of bytes: [UInt8], maximum: Int = 1 << 20, initialCapacity: Int = 16) throws -> [String] {
        let directory = TemporaryDirectory()
        let path = directory.write("in", bytes: bytes)
        let fd = open(path, O_RDONLY)
        defer { close(fd) }
        let reader = LineReader(fileDescriptor: fd, maximumLineBytes: maximum, initialCapacity: initialCapacity)
        var result: [String] = []
        while let line = try reader.next() {
            switch line {
            case .text(let text): result.append(String(decoding: text, as: UTF8.self))
            case .tooLong(let prefix, let size): result.append("TOO LONG \(size) \(prefix.count)")
            }
        }
        return result
    }

    @Test func splitsLinesAcrossBufferBoundaries() throws {
        let text = (0..<500).map { "line \($0) " + String(repeating: "x", count: $0 % 37) }
        #expect(try lines(of: Array((text.joined(separator: "\n") + "\n").utf8)) == text)
        #expect(try lines(of: Array(text.joined(separator: "\n").utf8)) == text, "no final newline")
    }

    @Test func stripsCarriageReturnsAndKeepsEmptyLines() throws {
        #expect(try lines(of: Array("a\r\n\r\nb\n\nc".utf8)) == ["a", "", "b", "", "c"])
        #expect(try lines(of: []) == [])
    }

    @Test func overlongLinesAreSkippedWithTheirSize() throws {
        let long = String(repeating: "y", count: 5000)
        let result = try lines(of: Array("short\n\(long)\nafter\n\(long)".utf8), maximum: 1000)
        #expect(result == ["short", "TOO LONG 5000 1001", "after", "TOO LONG 5000 1001"])
    }
}
