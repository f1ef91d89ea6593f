import ThingLogCore

extension ReportParser {
    /// The usual report, read token by token instead of as a JSON tree (no tree to build and free per message):
    /// `{"method":"report", …, "params":{…}}` in ASCII, its strings without escapes, every value a string, number,
    /// `true`, `false` or `null` except `params`, an object of such values. Anything else — another method, escapes,
    /// arrays, deeper nesting, a repeated key, a number out of range, too many params, invalid JSON — gives nil, and
    /// the general parse decides, so the outcome never depends on which path took the message (a test and a fuzz
    /// target compare both on the same payloads).
    func parsedReport(_ message: IncomingMessage, topic: ThingTopic) -> ParsedMessage? {
        message.payload.withUnsafeBufferPointer { bytes -> ParsedMessage? in
            // ASCII only: valid UTF-8, and a name's bytes are its characters.
            guard !bytes.contains(where: { $0 >= 0x80 }) else { return nil }
            var reader = JSONParser(bytes: bytes)
            do {
                return try readReport(&reader, bytes, message: message, topic: topic)
            } catch {
                return nil
            }
        }
    }

    /// Members of an object the fast path takes (repeated keys are found by comparing each pair); a report with
    /// more takes the general path.
    static let fastPathMembers = 16

    /// One value of the report, its strings left in the payload (ranges of its bytes): plain values, so the arrays of
    /// them are copied and freed without touching a reference count.
    private enum Scalar {
        case number(Double)
        case string(Range<Int>)
        case bool(Bool)
        case null

        func json(in bytes: UnsafeBufferPointer<UInt8>) -> JSONValue {
            switch self {
            case .number(let number): .number(number)
            case .string(let range): .string(ReportParser.text(bytes, range))
            case .bool(let flag): .bool(flag)
            case .null: .null
            }
        }
    }

    /// Thrown when the payload leaves the fast path's layout (not an error of the payload).
    private struct NotFlat: Error {}

    private func readReport(_ reader: inout JSONParser, _ bytes: UnsafeBufferPointer<UInt8>, message: IncomingMessage,
                            topic: ThingTopic) throws -> ParsedMessage? {
        var keys: [Range<Int>] = []
        keys.reserveCapacity(8)
        var isReport = false
        var clientToken: Scalar?
        var timestamp: Scalar?
        var params: [(key: Range<Int>, value: Scalar)]?
        try readObject(&reader, bytes) { reader, key in
            guard keys.count < Self.fastPathMembers else { throw NotFlat() }
            keys.append(key)
            if reader.peek == UInt8(ascii: "{") {
                guard Self.equals(bytes, key, "params"), params == nil else { throw NotFlat() }
                var members: [(key: Range<Int>, value: Scalar)] = []
                members.reserveCapacity(16)
                let most = min(Self.fastPathMembers, limits.propertiesPerReport)
                try readObject(&reader, bytes) { reader, key in
                    guard members.count < most else { throw NotFlat() }
                    members.append((key, try Self.readScalar(&reader, bytes)))
                }
                params = members
                return
            }
            let value = try Self.readScalar(&reader, bytes)
            if Self.equals(bytes, key, "method") {
                guard case .string(let method) = value, Self.equals(bytes, method, "report") else { throw NotFlat() }
                isReport = true
            } else if Self.equals(bytes, key, "clientToken") {
                clientToken = value
            } else if Self.equals(bytes, key, "timestamp") {
                timestamp = value
            } else if Self.equals(bytes, key, "params") {
                throw NotFlat()   // params that are not an object: the general parse rejects the report
            }
        }
        reader.skipWhitespace()
        guard reader.peek == nil, isReport, let params, !Self.repeats(keys, in: bytes) else { return nil }
        let layout: ParseMemo.Layout
        if let remembered = parseMemo.layout(matching: params.lazy.map(\.key), in: bytes) {
            layout = remembered   // its keys were found not to repeat when it was remembered
        } else {
            let paramKeys = params.map(\.key)
            guard !Self.repeats(paramKeys, in: bytes) else { return nil }
            layout = self.layout(of: paramKeys, in: bytes)
            parseMemo.remember(layout)
        }

        var parsed = ParsedMessage(topic: topic)
        parsed.method = "report"
        if case .string(let token)? = clientToken {
            parsed.clientToken = Self.prefix(Self.text(bytes, token), bytes: 256)
        }
        if let timestamp { applyTimestamp(timestamp.json(in: bytes), receivedAt: message.receivedAt, to: &parsed) }
        let checksTemplate = template?.applies(to: topic.product) ?? false
        parsed.readings.reserveCapacity(params.count)
        var readingKeys: UInt64 = 0   // at most `fastPathMembers` keys
        for (index, member) in params.enumerated() {
            let value: Double
            switch member.value {
            case .number(let number): value = number
            case .bool(let flag): value = flag ? 1 : 0
            case .string, .null: continue
            }
            if Self.collectReading(layout.names[index], value, isValidName: layout.isValidName[index],
                                   checksTemplate: checksTemplate, bounds: layout.bounds[index], into: &parsed) {
                readingKeys |= 1 << UInt64(index)
            }
        }
        parsed.metricsIdentity = MetricsIdentity(token: layout.token, readingKeys: readingKeys)
        return parsed
    }

    /// The names of `keys`, and what the name rules and the template say of each.
    private func layout(of keys: [Range<Int>], in bytes: UnsafeBufferPointer<UInt8>) -> ParseMemo.Layout {
        let names = keys.map { Self.text(bytes, $0) }
        return ParseMemo.Layout(keyBytes: keys.flatMap { bytes[$0] }, keyLengths: keys.map(\.count), names: names,
                                 isValidName: names.map { self.names.isValidPropertyID($0) },
                                 bounds: names.map { template?.bounds(of: $0) })
    }

    /// Reads an object whose every member `body` reads (the reader on the member's value).
    private func readObject(_ reader: inout JSONParser, _ bytes: UnsafeBufferPointer<UInt8>,
                            _ body: (inout JSONParser, Range<Int>) throws -> Void) throws {
        reader.skipWhitespace()
        try reader.expect(UInt8(ascii: "{"))
        reader.skipWhitespace()
        if reader.peek == UInt8(ascii: "}") {
            reader.advance()
            return
        }
        while true {
            reader.skipWhitespace()
            guard let key = try reader.parsePlainString() else { throw NotFlat() }
            reader.skipWhitespace()
            try reader.expect(UInt8(ascii: ":"))
            reader.skipWhitespace()
            try body(&reader, key)
            reader.skipWhitespace()
            if reader.peek == UInt8(ascii: ",") {
                reader.advance()
                continue
            }
            try reader.expect(UInt8(ascii: "}"))
            return
        }
    }

    /// A string without escapes, a finite number, `true`, `false` or `null`; throws on anything else.
    private static func readScalar(_ reader: inout JSONParser, _ bytes: UnsafeBufferPointer<UInt8>) throws -> Scalar {
        switch reader.peek {
        case UInt8(ascii: "\"")?:
            guard let range = try reader.parsePlainString() else { throw NotFlat() }
            return .string(range)
        case UInt8(ascii: "t")?:
            try reader.parseLiteral("true")
            return .bool(true)
        case UInt8(ascii: "f")?:
            try reader.parseLiteral("false")
            return .bool(false)
        case UInt8(ascii: "n")?:
            try reader.parseLiteral("null")
            return .null
        default:
            let number = try reader.parseNumber()
            guard number.isFinite else { throw NotFlat() }   // the general parse says where
            return .number(number)
        }
    }

    /// The text of a string without escapes (ASCII: checked before the fast path reads a payload).
    static func text(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }

    private static func equals(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, _ text: StaticString) -> Bool {
        range.count == text.utf8CodeUnitCount
            && UnsafeBufferPointer(rebasing: bytes[range]).elementsEqual(
                UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Whether two of `keys` hold the same bytes.
    private static func repeats(_ keys: [Range<Int>], in bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        for index in keys.indices.dropFirst() {
            let key = UnsafeBufferPointer(rebasing: bytes[keys[index]])
            for earlier in keys[..<index] where earlier.count == key.count
                && UnsafeBufferPointer(rebasing: bytes[earlier]).elementsEqual(key) {
                return true
            }
        }
        return false
    }
}
