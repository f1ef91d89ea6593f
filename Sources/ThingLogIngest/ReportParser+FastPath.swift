import ThingLogCore

extension ReportParser {
    /// The usual report, read token by token instead of as a JSON tree (no tree to build and free per message), into
    /// `parsed` (a parse of the message's topic, nothing else set yet): `{"method":"report", …, "params":{…}}` in
    /// ASCII, its strings without escapes, every value a string, number, `true`, `false` or `null` except `params`,
    /// an object of such values. Anything else — another method, escapes, arrays, deeper nesting, a repeated key, a
    /// number out of range, too many params, invalid JSON — gives false with `parsed` untouched, and the general
    /// parse decides, so the outcome never depends on which path took the message (a test and a fuzz target compare
    /// both on the same payloads). The parse is filled in place: one handed out of the readers was copied (a dozen
    /// retains and releases per message).
    ///
    /// `shape`, the payload's split, lets a payload of a shape read before be read by its plan (`ReportPlan`), and
    /// lets the first one of a shape leave a plan; the parse keeps it (`payloadShape`).
    func readsReport(_ message: IncomingMessage, shape: PayloadShape?, into parsed: inout ParsedMessage) -> Bool {
        message.payload.withUnsafeBufferPointer { bytes -> Bool in
            let plan = shape != nil ? parseMemo.plan(for: shape.unsafelyUnwrapped.shape) : nil
            if let plan, readsPlanned(plan, bytes, message: message, shape: shape, lengths: nil, into: &parsed) {
                parseMemo.remember(plan, forTopic: message.topic)
                return true
            }
            // ASCII only: valid UTF-8, and a name's bytes are its characters.
            guard !bytes.contains(where: { $0 >= 0x80 }) else { return false }
            var reader = JSONParser(bytes: bytes)
            do {
                return try readReport(&reader, bytes, message: message, shape: shape, plans: plan == nil,
                                      into: &parsed)
            } catch {
                return false
            }
        }
    }

    /// A report of `plan`'s shape, split along it (`PayloadShape.numbers(of:shapedLike:)`, which also gives where its
    /// tokens lie) and read by it into `parsed` (its topic's parse); false, and `parsed` untouched, when the payload
    /// has another shape or leaves the plan.
    func readsAlongPlan(_ plan: ReportPlan, _ message: IncomingMessage, into parsed: inout ParsedMessage) -> Bool {
        guard message.payload.count <= Self.maximumPayloadBytes else { return false }
        // Each placeholder's digit count (at most 18: a byte each).
        var lengths = InlineArray<64, UInt8>(repeating: 0)
        guard plan.placeholderCount <= lengths.count else { return false }
        return message.payload.withUnsafeBufferPointer { bytes in
            guard let numbers = plan.shape.withUnsafeBufferPointer({ shape in
                withUnsafeMutableBytes(of: &lengths) {
                    PayloadShape.numbers(of: bytes, shapedLike: shape, receivedAt: message.receivedAt,
                                         lengths: $0.bindMemory(to: UInt8.self))
                }
            }) else { return false }
            // A copy of its own: the plan's array, shared, would have both threads writing its reference count.
            let shape = PayloadShape(shape: plan.shape.withUnsafeBufferPointer(Array.init), numbers: numbers)
            return withUnsafeBytes(of: &lengths) {
                readsPlanned(plan, bytes, message: message, shape: shape, lengths: $0.bindMemory(to: UInt8.self),
                             into: &parsed)
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

    /// Reads a payload token by token; with `plans` and its split (`shape`), also leaves a plan for payloads of that
    /// shape.
    private func readReport(_ reader: inout JSONParser, _ bytes: UnsafeBufferPointer<UInt8>, message: IncomingMessage,
                            shape: PayloadShape?, plans: Bool, into parsed: inout ParsedMessage) throws -> Bool {
        let planning = plans ? shape : nil
        var keys: [Range<Int>] = []
        keys.reserveCapacity(8)
        var isReport = false
        var clientToken: Scalar?
        var timestamp: Scalar?
        var params: [(key: Range<Int>, value: Scalar)]?
        // Where each value lies, for the plan.
        var planValues: [(role: ReportPlan.Role, range: Range<Int>)] = []
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
                    let start = reader.position
                    members.append((key, try Self.readScalar(&reader, bytes)))
                    if planning != nil { planValues.append((.param(members.count - 1), start..<reader.position)) }
                }
                params = members
                return
            }
            let start = reader.position
            let value = try Self.readScalar(&reader, bytes)
            var role = ReportPlan.Role.other
            if Self.equals(bytes, key, "method") {
                guard case .string(let method) = value, Self.equals(bytes, method, "report") else { throw NotFlat() }
                isReport = true
            } else if Self.equals(bytes, key, "clientToken") {
                clientToken = value
                role = .clientToken
            } else if Self.equals(bytes, key, "timestamp") {
                timestamp = value
                role = .timestamp
            } else if Self.equals(bytes, key, "params") {
                throw NotFlat()   // params that are not an object: the general parse rejects the report
            }
            if planning != nil { planValues.append((role, start..<reader.position)) }
        }
        reader.skipWhitespace()
        guard reader.peek == nil, isReport, let params, !Self.repeats(keys, in: bytes) else { return false }
        let layout: ParseMemo.Layout
        if let remembered = parseMemo.layout(matching: params.lazy.map(\.key), in: bytes) {
            layout = remembered   // its keys were found not to repeat when it was remembered
        } else {
            let paramKeys = params.map(\.key)
            guard !Self.repeats(paramKeys, in: bytes) else { return false }
            layout = self.layout(of: paramKeys, in: bytes)
            parseMemo.remember(layout)
        }
        if let planning, let plan = ReportPlan(shape: planning.shape, payload: bytes, layout: layout,
                                               keys: keys + params.map(\.key), values: planValues) {
            parseMemo.remember(plan)
            parseMemo.remember(plan, forTopic: message.topic)
        }
        parsed.payloadShape = shape
        fillReport(&parsed, params.lazy.map(\.value), layout: layout, clientToken: clientToken, timestamp: timestamp,
                   bytes, message: message)
        return true
    }

    /// A payload of a planned shape: its changing values read in place (the same reader and checks as `readReport`)
    /// and filled into `parsed`; false, and `parsed` untouched, when it leaves the plan.
    /// `lengths`: each placeholder's digit count in the payload, when known (`readsAlongPlan`).
    func readsPlanned(_ plan: ReportPlan, _ bytes: UnsafeBufferPointer<UInt8>, message: IncomingMessage,
                      shape: PayloadShape?, lengths known: UnsafeBufferPointer<UInt8>?,
                      into parsed: inout ParsedMessage) -> Bool {
        var params = InlineArray<16, Scalar>(repeating: .null)
        guard plan.paramCount <= params.count else { return false }
        var clientToken: Scalar?
        var timestamp: Scalar?
        let fitsPlan = withUnsafeTemporaryAllocation(of: Int32.self, capacity: plan.placeholderCount + 1) { extra in
            // extra[k]: how many more bytes the first k placeholders take in this payload than in the shape.
            extra[0] = 0
            let placeholdersFit = known.map { lengths in
                for index in 0..<plan.placeholderCount { extra[index + 1] = extra[index] + Int32(lengths[index]) - 1 }
                return true
            } ?? withUnsafeTemporaryAllocation(of: Int32.self, capacity: plan.placeholderCount) { lengths in
                guard let count = plan.shape.withUnsafeBufferPointer({
                    PayloadShape.tokenLengths(of: $0, in: bytes, into: lengths)
                }), count == plan.placeholderCount else { return false }
                for index in 0..<count { extra[index + 1] = extra[index] + lengths[index] - 1 }
                return true
            }
            guard placeholdersFit else { return false }
            for segment in plan.segments {
                let start = Int(segment.start + extra[Int(segment.placeholdersBeforeStart)])
                let end = Int(segment.end + extra[Int(segment.placeholdersBeforeEnd)])
                let value: Scalar
                if segment.isInteger, end - start <= 15 {
                    // Digits without a leading zero, at most 15: the integer is exact as a Double, as the JSON reader
                    // would read it.
                    var integer: Int64 = 0
                    for index in start..<end { integer = integer &* 10 &+ Int64(bytes[index] &- UInt8(ascii: "0")) }
                    value = .number(Double(integer))
                } else {
                    var reader = JSONParser(bytes: bytes, at: start)
                    guard let scalar = try? Self.readScalar(&reader, bytes), reader.position == end else {
                        return false
                    }
                    value = scalar
                }
                switch segment.role {
                case .param(let index): params[index] = value
                case .clientToken: clientToken = value
                case .timestamp: timestamp = value
                case .other: break
                }
            }
            return true
        }
        guard fitsPlan else { return false }
        parsed.payloadShape = shape
        fillReport(&parsed, (0..<plan.paramCount).lazy.map { params[$0] }, layout: plan.layout,
                   clientToken: clientToken, timestamp: timestamp, bytes, message: message)
        return true
    }

    /// Fills the parse of a report from its values: `params` in the order of `layout`'s keys.
    private func fillReport(_ parsed: inout ParsedMessage, _ params: some Collection<Scalar>,
                            layout: ParseMemo.Layout, clientToken: Scalar?, timestamp: Scalar?,
                            _ bytes: UnsafeBufferPointer<UInt8>, message: IncomingMessage) {
        parsed.method = "report"
        if case .string(let token)? = clientToken {
            parsed.clientToken = Self.prefix(Self.text(bytes, token), bytes: 256)
        }
        if let timestamp { applyTimestamp(timestamp.json(in: bytes), receivedAt: message.receivedAt, to: &parsed) }
        let checksTemplate = templateApplies(to: parsed.topic.product)
        parsed.readings.reserveCapacity(params.count)
        var readingKeys: UInt64 = 0   // at most `fastPathMembers` keys
        for (index, member) in params.enumerated() {
            let value: Double
            switch member {
            case .number(let number): value = number
            case .bool(let flag): value = flag ? 1 : 0
            case .string, .null: continue
            }
            if Self.collectReading(layout.names[index], value, isValidName: layout.isValidName[index],
                                   checksTemplate: checksTemplate, bounds: layout.bounds[index], into: &parsed) {
                readingKeys |= 1 << UInt64(index)
            }
        }
        parsed.metricsIdentity = MetricsIdentity(layout: layout.token, readingKeys: readingKeys)
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
