import Glibc
import ThingLogCore

/// Reads newline-terminated lines from a file descriptor with a bounded buffer: memory stays flat however long
/// the input, and a line longer than `maximumLineBytes` is reported by its size and first bytes without being
/// buffered whole.
public final class LineReader {
    /// One line, or the head of one too long to keep.
    public enum Line {
        /// Valid only until the next call to `next()`. A trailing `\r` is removed.
        case text(UnsafeBufferPointer<UInt8>)
        case tooLong(prefix: [UInt8], size: Int)
    }

    private let fileDescriptor: Int32
    private let maximumLineBytes: Int
    private var buffer: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private var start = 0
    private var end = 0
    private var scanned = 0
    private var isAtEnd = false

    public init(fileDescriptor: Int32, maximumLineBytes: Int = 16 * 1024 * 1024, initialCapacity: Int = 1 << 20) {
        self.fileDescriptor = fileDescriptor
        self.maximumLineBytes = maximumLineBytes
        capacity = max(16, min(initialCapacity, maximumLineBytes + 1))
        buffer = .allocate(capacity: capacity)
    }

    deinit { buffer.deallocate() }

    /// The next line, or nil at the end of input. Throws when `read` fails.
    public func next() throws(RuntimeError) -> Line? {
        while true {
            if let newline = findNewline() {
                let line = trimmed(start, newline)
                start = newline + 1
                scanned = start
                return .text(line)
            }
            if isAtEnd {
                guard start < end else { return nil }
                let line = trimmed(start, end)
                start = end
                scanned = end
                return .text(line)
            }
            if end - start > maximumLineBytes {
                return try skipLongLine()
            }
            try fill()
        }
    }

    private func findNewline() -> Int? {
        guard scanned < end else { return nil }
        if let found = memchr(buffer + scanned, 0x0A, end - scanned) {
            return buffer.distance(to: found.assumingMemoryBound(to: UInt8.self))
        }
        scanned = end
        return nil
    }

    private func trimmed(_ from: Int, _ to: Int) -> UnsafeBufferPointer<UInt8> {
        var last = to
        if last > from, buffer[last - 1] == 0x0D { last -= 1 }
        return UnsafeBufferPointer(start: buffer + from, count: last - from)
    }

    /// Makes room (compacting, then growing up to the line limit) and reads more input.
    private func fill() throws(RuntimeError) {
        if start > 0 {
            let pending = end - start
            if pending > 0 { memmove(buffer, buffer + start, pending) }
            scanned -= start
            end = pending
            start = 0
        }
        if end == capacity {
            let grown = min(capacity * 2, maximumLineBytes + 1)
            if grown > capacity {
                let larger = UnsafeMutablePointer<UInt8>.allocate(capacity: grown)
                larger.update(from: buffer, count: end)
                buffer.deallocate()
                buffer = larger
                capacity = grown
            }
        }
        let count = try readSome(into: buffer + end, capacity: capacity - end)
        if count == 0 { isAtEnd = true } else { end += count }
    }

    private func readSome(into destination: UnsafeMutablePointer<UInt8>, capacity: Int) throws(RuntimeError) -> Int {
        while true {
            let count = read(fileDescriptor, destination, capacity)
            if count >= 0 { return count }
            if errno == EINTR { continue }
            throw RuntimeError("read failed: \(String(cString: strerror(errno)))")
        }
    }

    /// Discards the rest of an over-long line, counting its bytes and keeping only its first 64 KiB.
    private func skipLongLine() throws(RuntimeError) -> Line {
        let prefix = Array(UnsafeBufferPointer(start: buffer + start, count: min(Rejection.keptBytes, end - start)))
        var size = end - start
        start = 0
        end = 0
        scanned = 0
        while true {
            let count = try readSome(into: buffer, capacity: capacity)
            if count == 0 {
                isAtEnd = true
                return .tooLong(prefix: prefix, size: size)
            }
            if let found = memchr(buffer, 0x0A, count) {
                let offset = buffer.distance(to: found.assumingMemoryBound(to: UInt8.self))
                size += offset
                start = offset + 1
                end = count
                scanned = start
                return .tooLong(prefix: prefix, size: size)
            }
            size += count
        }
    }
}
