import ThingLogStore

/// Writes analysis state carried between `analyze` runs as compact little-endian bytes. Doubles keep their exact
/// bits, so a resumed run continues with exactly the numbers a single run would have had.
struct StateEncoder {
    private(set) var bytes: [UInt8] = []

    mutating func integer(_ value: Int64) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }
    mutating func double(_ value: Double) { integer(Int64(bitPattern: value.bitPattern)) }
    mutating func count(_ value: Int) { integer(Int64(value)) }
    mutating func flag(_ value: Bool) { bytes.append(value ? 1 : 0) }
    mutating func optionalInteger(_ value: Int64?) {
        flag(value != nil)
        if let value { integer(value) }
    }
}

/// Saved analysis state that does not decode (written by another version, or damaged): the device is recomputed.
struct StateDecodingError: Error {}

/// Reads what `StateEncoder` wrote, refusing to read past the end.
struct StateDecoder {
    private let bytes: [UInt8]
    private var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var isAtEnd: Bool { offset == bytes.count }

    mutating func integer() throws(StateDecodingError) -> Int64 {
        guard offset + 8 <= bytes.count else { throw StateDecodingError() }
        var value: UInt64 = 0
        for index in (0..<8).reversed() { value = value << 8 | UInt64(bytes[offset + index]) }
        offset += 8
        return Int64(bitPattern: value)
    }
    mutating func double() throws(StateDecodingError) -> Double {
        Double(bitPattern: UInt64(bitPattern: try integer()))
    }
    mutating func count(limit: Int = 50_000_000) throws(StateDecodingError) -> Int {
        let value = try integer()
        guard value >= 0, value <= limit else { throw StateDecodingError() }
        return Int(value)
    }
    mutating func flag() throws(StateDecodingError) -> Bool {
        guard offset < bytes.count, bytes[offset] <= 1 else { throw StateDecodingError() }
        offset += 1
        return bytes[offset - 1] == 1
    }
    mutating func optionalInteger() throws(StateDecodingError) -> Int64? { try flag() ? try integer() : nil }
}
