import Glibc

/// An IANA time zone read from the system's TZif files (RFC 8536, `/usr/share/zoneinfo`): the UTC offset at any
/// instant, with DST, from the file's transitions and, after the last one, its POSIX TZ rule (`CET-1CEST,M3.5.0,
/// M10.5.0/3`). thinglog's own, so that it needs no ICU for `--tz` (SPEC §3).
public struct ZoneInfo: Sendable, Equatable {
    /// The zone's name as given (`Europe/Berlin`), or `UTC`.
    public let identifier: String
    /// Transition times (epoch seconds), ascending, and the UTC offset (seconds) in force from each.
    let transitions: [Int64]
    let offsets: [Int32]
    /// The offset before the first transition.
    let initialOffset: Int32
    /// The rule after the last transition (nil: the last offset stays).
    let rule: PosixRule?

    public static let utc = ZoneInfo(identifier: "UTC", transitions: [], offsets: [], initialOffset: 0, rule: nil)

    /// Where the zone files are (`TZDIR`, else the usual place).
    static var directory: String {
        if let value = getenv("TZDIR") { return String(cString: value) }
        return "/usr/share/zoneinfo"
    }

    /// Loads `identifier` (`Europe/Berlin`, `UTC`, `Etc/GMT+5`); nil when there is no such zone or its file is not a
    /// TZif file. Names are checked before any file is opened (no `..`, no absolute paths).
    public init?(identifier: String) {
        if ["UTC", "GMT", "Etc/UTC", "Z"].contains(identifier) {
            self = ZoneInfo(identifier: identifier == "GMT" ? "GMT" : "UTC", transitions: [], offsets: [],
                            initialOffset: 0, rule: nil)
            return
        }
        let parts = identifier.split(separator: "/", omittingEmptySubsequences: false)
        guard !identifier.isEmpty, identifier.utf8.count <= 255,
              !parts.contains(where: { $0.isEmpty || $0 == ".." || $0 == "." }),
              identifier.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\\") }),
              let bytes = Self.read(Self.directory + "/" + identifier) else { return nil }
        self.init(identifier: identifier, tzif: bytes)
    }

    init?(identifier: String, tzif bytes: [UInt8]) {
        var reader = TZifReader(bytes: bytes)
        guard let parsed = reader.parse() else { return nil }
        self = ZoneInfo(identifier: identifier, transitions: parsed.transitions, offsets: parsed.offsets,
                        initialOffset: parsed.initialOffset, rule: parsed.footer.flatMap(PosixRule.init))
    }

    init(identifier: String, transitions: [Int64], offsets: [Int32], initialOffset: Int32, rule: PosixRule?) {
        self.identifier = identifier
        self.transitions = transitions
        self.offsets = offsets
        self.initialOffset = initialOffset
        self.rule = rule
    }

    /// The UTC offset in seconds at `epochSeconds`.
    public func offsetSeconds(at epochSeconds: Int64) -> Int {
        guard let last = transitions.last else { return Int(rule?.offset(at: epochSeconds) ?? initialOffset) }
        if epochSeconds >= last, let rule { return Int(rule.offset(at: epochSeconds)) }
        // The last transition at or before the time (binary search).
        var low = 0, high = transitions.count
        while low < high {
            let middle = (low + high) / 2
            if transitions[middle] <= epochSeconds { low = middle + 1 } else { high = middle }
        }
        return Int(low == 0 ? initialOffset : offsets[low - 1])
    }

    /// The UTC offset in milliseconds at `milliseconds` (epoch ms).
    public func offsetMilliseconds(at milliseconds: Int64) -> Int64 {
        Int64(offsetSeconds(at: floorDivide(milliseconds, 1000))) * 1000
    }

    private static func read(_ path: String) -> [UInt8]? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while bytes.count <= 4 << 20 {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            guard count > 0 else { break }
            bytes += chunk[0..<count]
        }
        return bytes.count > 4 << 20 ? nil : bytes
    }
}

/// The parts of a TZif file thinglog needs: the 64-bit transitions (version 2+; the 32-bit block of a version 1
/// file otherwise) and the footer's POSIX rule.
struct TZifReader {
    let bytes: [UInt8]
    var position = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    private mutating func integer(_ size: Int) -> Int64? {
        guard position + size <= bytes.count else { return nil }
        var value: Int64 = 0
        for byte in bytes[position..<position + size] { value = value << 8 | Int64(byte) }
        position += size
        // Sign-extend.
        let shift = Int64(64 - 8 * size)
        return (value << shift) >> shift
    }

    private struct Header { var version: UInt8; var counts: [Int] }

    private mutating func header() -> Header? {
        guard position + 44 <= bytes.count, bytes[position..<position + 4].elementsEqual("TZif".utf8) else {
            return nil
        }
        let version = bytes[position + 4]
        position += 20
        var counts: [Int] = []
        for _ in 0..<6 {
            guard let count = integer(4), (0...1_000_000).contains(count) else { return nil }
            counts.append(Int(count))
        }
        return Header(version: version, counts: counts)
    }

    mutating func parse() -> (transitions: [Int64], offsets: [Int32], initialOffset: Int32, footer: String?)? {
        guard var header = header() else { return nil }
        var timeSize = 4
        if header.version >= UInt8(ascii: "2") {
            // Skip the 32-bit block; the 64-bit one follows with its own header.
            let (isUT, isStd, leaps, times, types, characters) = (header.counts[0], header.counts[1],
                header.counts[2], header.counts[3], header.counts[4], header.counts[5])
            position += times * 5 + types * 6 + characters + leaps * 8 + isStd + isUT
            guard let second = self.header() else { return nil }
            header = second
            timeSize = 8
        }
        let (isUT, isStd, leaps, times, types, characters) = (header.counts[0], header.counts[1], header.counts[2],
                                                             header.counts[3], header.counts[4], header.counts[5])
        guard types > 0 else { return nil }
        var transitions: [Int64] = []
        for _ in 0..<times {
            guard let time = integer(timeSize) else { return nil }
            transitions.append(time)
        }
        var indices: [Int] = []
        for _ in 0..<times {
            guard position < bytes.count, Int(bytes[position]) < types else { return nil }
            indices.append(Int(bytes[position]))
            position += 1
        }
        var typeOffsets: [Int32] = []
        for _ in 0..<types {
            guard let offset = integer(4), integer(1) != nil, integer(1) != nil,
                  (-100_000...100_000).contains(offset) else { return nil }
            typeOffsets.append(Int32(offset))
        }
        position += characters + leaps * (timeSize + 4) + isStd + isUT
        var footer: String?
        if timeSize == 8, position < bytes.count, bytes[position] == 0x0A,
           let end = bytes[(position + 1)...].firstIndex(of: 0x0A) {
            let text = String(decoding: bytes[(position + 1)..<end], as: UTF8.self)
            footer = text.isEmpty ? nil : text
        }
        return (transitions, indices.map { typeOffsets[$0] }, typeOffsets[0], footer)
    }
}
