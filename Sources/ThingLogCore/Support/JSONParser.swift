import Glibc

/// A strict RFC 8259 parser over bytes that the caller has already checked to be valid UTF-8.
///
/// Nesting is bounded (`maxDepth`), so hostile input such as a megabyte of `[` is an error, not a stack overflow.
/// Numbers outside Double's range parse as infinity: callers decide whether that is acceptable.
public struct JSONParser {
    private let bytes: UnsafeBufferPointer<UInt8>
    /// The next byte to read.
    package private(set) var position = 0
    private let maxDepth: Int

    public static let defaultMaxDepth = 64

    /// Parses one complete JSON document.
    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>,
                             maxDepth: Int = defaultMaxDepth) throws(JSONError) -> JSONValue {
        var parser = JSONParser(bytes: bytes, maxDepth: maxDepth)
        return try parser.parseDocument()
    }

    /// Parses a document held in a byte array or string's UTF-8 view.
    public static func parse(_ text: some Collection<UInt8>,
                             maxDepth: Int = defaultMaxDepth) throws(JSONError) -> JSONValue {
        let array = Array(text)
        do {
            return try array.withUnsafeBufferPointer { buffer throws(JSONError) in
                try parse(buffer, maxDepth: maxDepth)
            }
        }
    }

    /// Parses a top-level object and returns each member with the byte range of its value, so that a caller can keep
    /// a member's original bytes (an embedded payload object) without re-serializing it.
    public static func parseObjectWithSpans(_ bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int = defaultMaxDepth)
        throws(JSONError) -> [(member: JSONMember, span: Range<Int>)] {
        var parser = JSONParser(bytes: bytes, maxDepth: maxDepth)
        parser.skipWhitespace()
        guard parser.peek == UInt8(ascii: "{") else { throw parser.failure("expected an object") }
        parser.position += 1
        var result: [(member: JSONMember, span: Range<Int>)] = []
        parser.skipWhitespace()
        if parser.peek == UInt8(ascii: "}") {
            parser.position += 1
        } else {
            while true {
                parser.skipWhitespace()
                let key = try parser.parseString()
                parser.skipWhitespace()
                try parser.expect(UInt8(ascii: ":"))
                parser.skipWhitespace()
                let start = parser.position
                let value = try parser.parseValue(depth: 1)
                result.append((JSONMember(key: key, value: value), start..<parser.position))
                parser.skipWhitespace()
                if parser.peek == UInt8(ascii: ",") { parser.position += 1; continue }
                try parser.expect(UInt8(ascii: "}"))
                break
            }
        }
        parser.skipWhitespace()
        guard parser.position == bytes.count else { throw parser.failure("unexpected data after the document") }
        return result
    }

    /// Parses a top-level array and returns the byte range of each element, so that a caller can hand each element's
    /// original bytes on (the envelopes of a forwarded batch).
    public static func parseArrayElementSpans(_ bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int = defaultMaxDepth)
        throws(JSONError) -> [Range<Int>] {
        var parser = JSONParser(bytes: bytes, maxDepth: maxDepth)
        parser.skipWhitespace()
        guard parser.peek == UInt8(ascii: "[") else { throw parser.failure("expected an array") }
        parser.position += 1
        var spans: [Range<Int>] = []
        parser.skipWhitespace()
        if parser.peek == UInt8(ascii: "]") {
            parser.position += 1
        } else {
            while true {
                parser.skipWhitespace()
                let start = parser.position
                _ = try parser.parseValue(depth: 1)
                spans.append(start..<parser.position)
                parser.skipWhitespace()
                if parser.peek == UInt8(ascii: ",") { parser.position += 1; continue }
                try parser.expect(UInt8(ascii: "]"))
                break
            }
        }
        parser.skipWhitespace()
        guard parser.position == bytes.count else { throw parser.failure("unexpected data after the document") }
        return spans
    }

    /// A parser over `bytes` for reading token by token (a caller with a fixed layout in mind, such as the report
    /// fast path): the same number and string rules as a whole-document parse.
    package init(bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int = defaultMaxDepth) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    /// A parser over `bytes` that starts reading at `position`.
    package init(bytes: UnsafeBufferPointer<UInt8>, at position: Int) {
        self.init(bytes: bytes)
        self.position = position
    }

    package var peek: UInt8? { position < bytes.count ? bytes[position] : nil }

    /// Steps over one byte the caller has checked with `peek`.
    package mutating func advance() { position += 1 }

    private func failure(_ message: String) -> JSONError { JSONError(message: message, offset: position) }

    package mutating func expect(_ byte: UInt8) throws(JSONError) {
        guard peek == byte else { throw failure("expected '\(Character(Unicode.Scalar(byte)))'") }
        position += 1
    }

    package mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    private mutating func parseDocument() throws(JSONError) -> JSONValue {
        skipWhitespace()
        let value = try parseValue(depth: 0)
        skipWhitespace()
        guard position == bytes.count else { throw failure("unexpected data after the document") }
        return value
    }

    private mutating func parseValue(depth: Int) throws(JSONError) -> JSONValue {
        guard let byte = peek else { throw failure("unexpected end of input") }
        switch byte {
        case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
        case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try parseLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try parseLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try parseLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        default: throw failure("unexpected character")
        }
    }

    package mutating func parseLiteral(_ literal: StaticString) throws(JSONError) {
        let count = literal.utf8CodeUnitCount
        guard bytes.count - position >= count,
              memcmp(bytes.baseAddress! + position, literal.utf8Start, count) == 0 else {
            throw failure("invalid literal")
        }
        position += count
    }

    private mutating func parseObject(depth: Int) throws(JSONError) -> JSONValue {
        guard depth <= maxDepth else { throw failure("nesting deeper than \(maxDepth)") }
        position += 1
        var members: [JSONMember] = []
        skipWhitespace()
        if peek == UInt8(ascii: "}") { position += 1; return .object(members) }
        members.reserveCapacity(8)   // one allocation for the usual report or params object, not four
        while true {
            skipWhitespace()
            guard peek == UInt8(ascii: "\"") else { throw failure("expected a member name") }
            let key = try parseString()
            skipWhitespace()
            try expect(UInt8(ascii: ":"))
            skipWhitespace()
            members.append(JSONMember(key: key, value: try parseValue(depth: depth)))
            skipWhitespace()
            if peek == UInt8(ascii: ",") { position += 1; continue }
            try expect(UInt8(ascii: "}"))
            return .object(members)
        }
    }

    private mutating func parseArray(depth: Int) throws(JSONError) -> JSONValue {
        guard depth <= maxDepth else { throw failure("nesting deeper than \(maxDepth)") }
        position += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if peek == UInt8(ascii: "]") { position += 1; return .array(elements) }
        while true {
            skipWhitespace()
            elements.append(try parseValue(depth: depth))
            skipWhitespace()
            if peek == UInt8(ascii: ",") { position += 1; continue }
            try expect(UInt8(ascii: "]"))
            return .array(elements)
        }
    }

    /// The byte range of a string's content when it holds no escape, the string read; nil (nothing read) when it
    /// holds one.
    package mutating func parsePlainString() throws(JSONError) -> Range<Int>? {
        guard peek == UInt8(ascii: "\"") else { throw failure("expected a string") }
        var end = position + 1
        while end < bytes.count {
            let byte = bytes[end]
            if byte == UInt8(ascii: "\"") {
                defer { position = end + 1 }
                return (position + 1)..<end
            }
            if byte == UInt8(ascii: "\\") { return nil }
            if byte < 0x20 { throw JSONError(message: "control character in string", offset: end) }
            end += 1
        }
        throw JSONError(message: "unterminated string", offset: end)
    }

    private mutating func parseString() throws(JSONError) -> String {
        guard peek == UInt8(ascii: "\"") else { throw failure("expected a string") }
        position += 1
        let start = position
        // Fast path: no escapes.
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
                position += 1
                return text
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw failure("control character in string") }
            position += 1
        }
        // With escapes (a payload inside a recorded line): runs between them are copied whole.
        var scalars: [UInt8] = []
        scalars.reserveCapacity(min(bytes.count - start, 4096))
        var run = start
        while position < bytes.count {
            let byte = bytes[position]
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                scalars.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[run..<position]))
                position += 1
                if byte == UInt8(ascii: "\"") { return String(decoding: scalars, as: UTF8.self) }
                try appendEscape(to: &scalars)
                run = position
            case 0..<0x20:
                throw failure("control character in string")
            default:
                position += 1
            }
        }
        throw failure("unterminated string")
    }

    private mutating func appendEscape(to output: inout [UInt8]) throws(JSONError) {
        guard let byte = peek else { throw failure("unterminated escape") }
        position += 1
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): output.append(byte)
        case UInt8(ascii: "b"): output.append(0x08)
        case UInt8(ascii: "f"): output.append(0x0C)
        case UInt8(ascii: "n"): output.append(0x0A)
        case UInt8(ascii: "r"): output.append(0x0D)
        case UInt8(ascii: "t"): output.append(0x09)
        case UInt8(ascii: "u"):
            var code = try parseHex4()
            if (0xD800...0xDBFF).contains(code) {
                guard bytes.count - position >= 6, bytes[position] == UInt8(ascii: "\\"),
                      bytes[position + 1] == UInt8(ascii: "u") else { throw failure("lone surrogate") }
                position += 2
                let low = try parseHex4()
                guard (0xDC00...0xDFFF).contains(low) else { throw failure("lone surrogate") }
                code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00...0xDFFF).contains(code) {
                throw failure("lone surrogate")
            }
            guard let scalar = Unicode.Scalar(code) else { throw failure("invalid escape") }
            output.append(contentsOf: UTF8.encode(scalar)!)
        default:
            throw failure("invalid escape")
        }
    }

    private mutating func parseHex4() throws(JSONError) -> UInt32 {
        guard bytes.count - position >= 4 else { throw failure("short \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw failure("invalid \\u escape")
            }
            value = value << 4 | UInt32(digit)
            position += 1
        }
        return value
    }

    package mutating func parseNumber() throws(JSONError) -> Double {
        let start = position
        var isNegative = false
        if peek == UInt8(ascii: "-") { isNegative = true; position += 1 }
        var integer: Int64 = 0
        var digitCount = 0
        guard let first = peek, first >= UInt8(ascii: "0"), first <= UInt8(ascii: "9") else {
            throw failure("invalid number")
        }
        if first == UInt8(ascii: "0") {
            position += 1
            digitCount = 1
        } else {
            while let byte = peek, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
                if digitCount < 18 { integer = integer * 10 + Int64(byte - UInt8(ascii: "0")) }
                digitCount += 1
                position += 1
            }
        }
        var isIntegral = true
        if peek == UInt8(ascii: ".") {
            isIntegral = false
            position += 1
            guard let byte = peek, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else {
                throw failure("invalid number")
            }
            while let byte = peek, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") { position += 1 }
        }
        if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
            isIntegral = false
            position += 1
            if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { position += 1 }
            guard let byte = peek, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else {
                throw failure("invalid number")
            }
            while let byte = peek, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") { position += 1 }
        }
        if isIntegral && digitCount <= 15 {
            return isNegative ? -Double(integer) : Double(integer)
        }
        // strtod needs a terminated copy; numbers are short, so this is rare and cheap.
        let length = position - start
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: length + 1) { buffer in
            for index in 0..<length { buffer[index] = CChar(bitPattern: bytes[start + index]) }
            buffer[length] = 0
            return strtod(buffer.baseAddress!, nil)
        }
    }
}
