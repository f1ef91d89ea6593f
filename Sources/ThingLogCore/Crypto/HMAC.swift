/// A Merkle–Damgård hash with a 64-byte block, as HMAC needs it.
public protocol HashFunction {
    static var blockSize: Int { get }
    init()
    mutating func update(_ bytes: some Sequence<UInt8>)
    mutating func finalize() -> [UInt8]
}

extension HashFunction {
    /// The digest of `bytes` in one call.
    public static func hash(_ bytes: some Sequence<UInt8>) -> [UInt8] {
        var hasher = Self()
        hasher.update(bytes)
        return hasher.finalize()
    }
}

/// HMAC (RFC 2104) over any `HashFunction`.
public enum HMAC<Hash: HashFunction> {
    public static func authenticationCode(for message: some Sequence<UInt8>, key: [UInt8]) -> [UInt8] {
        var blockKey = key.count > Hash.blockSize ? Hash.hash(key) : key
        blockKey += [UInt8](repeating: 0, count: Hash.blockSize - blockKey.count)
        var inner = Hash()
        inner.update(blockKey.map { $0 ^ 0x36 })
        inner.update(message)
        var outer = Hash()
        outer.update(blockKey.map { $0 ^ 0x5C })
        outer.update(inner.finalize())
        return outer.finalize()
    }
}

/// Lower-case hexadecimal text of bytes.
public func hexString(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var text: [UInt8] = []
    text.reserveCapacity(bytes.count * 2)
    for byte in bytes {
        text.append(digits[Int(byte >> 4)])
        text.append(digits[Int(byte & 0x0F)])
    }
    return String(decoding: text, as: UTF8.self)
}

/// SHA-1 and SHA-256: 32-bit big-endian words of state, one compression function per 64-byte block.
protocol BlockHashFunction: HashFunction {
    var state: [UInt32] { get set }
    var blocks: MessageBlocks { get set }
    static func compress(_ block: [UInt8], into state: inout [UInt32])
}

extension BlockHashFunction {
    public mutating func update(_ bytes: some Sequence<UInt8>) {
        var state = self.state
        blocks.append(bytes) { Self.compress($0, into: &state) }
        self.state = state
    }

    public mutating func finalize() -> [UInt8] {
        var state = self.state
        blocks.finish { Self.compress($0, into: &state) }
        return state.flatMap { word in (0..<4).map { UInt8(truncatingIfNeeded: word >> (24 - 8 * $0)) } }
    }
}

/// The message schedule shared by SHA-1 and SHA-256 (FIPS 180-4 §5): bytes are cut into 64-byte blocks, and the
/// last is padded with 0x80, zeros and the message length in bits, big-endian.
struct MessageBlocks {
    private var pending: [UInt8] = []
    private var length: UInt64 = 0

    mutating func append(_ bytes: some Sequence<UInt8>, compress: ([UInt8]) -> Void) {
        for byte in bytes {
            pending.append(byte)
            length += 1
            if pending.count == 64 {
                compress(pending)
                pending.removeAll(keepingCapacity: true)
            }
        }
    }

    mutating func finish(compress: ([UInt8]) -> Void) {
        let messageBits = length * 8
        append([0x80], compress: compress)
        while pending.count != 56 { append([0], compress: compress) }
        append((0..<8).map { UInt8(truncatingIfNeeded: messageBits >> (56 - 8 * $0)) }, compress: compress)
    }
}
