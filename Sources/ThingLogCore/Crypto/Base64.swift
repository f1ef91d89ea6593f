/// Base64 (RFC 4648 §4), strict: the padded standard alphabet; whitespace is ignored when decoding.
public enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    public static func encode(_ bytes: [UInt8]) -> String {
        var output: [UInt8] = []
        output.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index < bytes.count {
            let chunk = bytes[index..<min(index + 3, bytes.count)]
            let value = chunk.enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (16 - 8 * UInt32($1.offset)) }
            for position in 0..<4 {
                output.append(position <= chunk.count ? alphabet[Int(value >> (18 - 6 * UInt32(position)) & 0x3F)]
                                                      : UInt8(ascii: "="))
            }
            index += 3
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// The decoded bytes, or nil when the text is not canonical base64.
    public static func decode(_ text: String) -> [UInt8]? {
        let symbols = text.utf8.filter { !($0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09) }
        guard symbols.count % 4 == 0 else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(symbols.count / 4 * 3)
        var index = 0
        while index < symbols.count {
            var value: UInt32 = 0
            var padding = 0
            for offset in 0..<4 {
                let symbol = symbols[index + offset]
                let sextet: UInt32
                if symbol == UInt8(ascii: "=") {
                    guard index + 4 == symbols.count, offset >= 2 else { return nil }
                    padding += 1
                    sextet = 0
                } else {
                    guard padding == 0, let position = alphabet.firstIndex(of: symbol) else { return nil }
                    sextet = UInt32(position)
                }
                value = value << 6 | sextet
            }
            output.append(UInt8(value >> 16 & 0xFF))
            if padding < 2 { output.append(UInt8(value >> 8 & 0xFF)) }
            if padding < 1 { output.append(UInt8(value & 0xFF)) }
            index += 4
        }
        return output
    }
}
