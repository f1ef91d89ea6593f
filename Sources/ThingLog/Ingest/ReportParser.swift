/// What one accepted message says, before the store gives its readings a time (SPEC §5, protocol.md §2).
public struct ParsedMessage: Sendable {
    public var topic: ThingTopic
    public var method: String?
    /// The device's own timestamp in milliseconds, when present and inside the skew window.
    public var deviceTimestamp: Int64?
    /// The device sent a timestamp outside [received_at − 366 d, received_at + 10 min].
    public var isClockSkewed = false
    /// Numeric params of a `report` (bool as 0/1), in payload order.
    public var readings: [(metric: String, value: Double)] = []
    public var events: [ParsedEvent] = []
    /// Readings outside the template's declared range (stored, flagged).
    public var outOfRangeCount = 0
    /// Readings of properties the template does not declare (stored, counted).
    public var unknownPropertyCount = 0
    /// Params whose ids are too long or hold control characters: kept in the raw report only.
    public var invalidPropertyIDCount = 0
}

/// One device event from `event_post` or `events_post`.
public struct ParsedEvent: Sendable, Equatable {
    public var eventID: String
    public var type: String?
    /// The event's own timestamp (ms), when present and plausible; else the report's time is used.
    public var timestamp: Int64?
    /// The event's `params` as compact JSON text.
    public var params: String
}

/// Turns raw messages into `ParsedMessage`s or `Rejection`s. Pure: no store, no clock.
public struct ReportParser: Sendable {
    public var template: DataTemplate?

    /// Largest payload accepted (SPEC §5: 256 KiB).
    public static let maximumPayloadBytes = 256 * 1024
    /// Longest property or event id kept as a series name, in bytes.
    public static let maximumPropertyIDBytes = 64
    static let skewPast: Int64 = 366 * 86_400_000
    static let skewFuture: Int64 = 10 * 60_000

    public init(template: DataTemplate? = nil) {
        self.template = template
    }

    /// The outcome of parsing one message.
    public enum Outcome: Sendable {
        case accepted(ParsedMessage)
        case rejected(Rejection)
    }

    /// Parses a message. `parsedPayload` skips the JSON parse when the caller already holds the payload's value
    /// (a jsonl record with an object payload).
    /// What to store for a message: the message with its parse, or its rejection.
    public func entry(for message: IncomingMessage, parsedPayload: JSONValue? = nil) -> StoreEntry {
        switch parse(message, parsedPayload: parsedPayload) {
        case .accepted(let parsed): .accepted(message, parsed)
        case .rejected(let rejection): .rejected(rejection)
        }
    }

    public func parse(_ message: IncomingMessage, parsedPayload: JSONValue? = nil) -> Outcome {
        func reject(_ reason: RejectReason, _ detail: String) -> Outcome {
            .rejected(Rejection(reason: reason, detail: detail, topic: message.topic,
                                receivedAt: message.receivedAt, bytes: message.payload))
        }
        guard let topic = ThingTopic(message.topic) else {
            return reject(.badTopic, "not a $thing/{up|down}/{property|event|action}/PRODUCT/DEVICE topic")
        }
        guard message.payload.count <= Self.maximumPayloadBytes else {
            return reject(.tooLarge, "payload of \(message.payload.count) bytes exceeds \(Self.maximumPayloadBytes)")
        }
        let document: JSONValue
        if let parsedPayload {
            document = parsedPayload
        } else {
            let outcome: Result<JSONValue, JSONError>? = message.payload.withUnsafeBufferPointer { buffer in
                guard UTF8Validation.isValid(buffer) else { return nil }
                return Result { () throws(JSONError) in try JSONParser.parse(buffer) }
            }
            switch outcome {
            case nil: return reject(.invalidUTF8, "payload is not valid UTF-8")
            case .failure(let error)?: return reject(.notJSON, error.description)
            case .success(let value)?: document = value
            }
        }
        guard let members = document.members else {
            return reject(.notObject, "payload is \(document.kindName), not an object")
        }
        if Self.containsNonFinite(document), let path = Self.nonFinitePath(in: document) {
            return reject(.nonFiniteNumber, "number out of range at \(path)")
        }
        var parsed = ParsedMessage(topic: topic)
        var params: JSONValue?
        for member in members {
            switch member.key {
            case "method": parsed.method = member.value.stringValue
            case "params": params = member.value
            case "timestamp": applyTimestamp(member.value, receivedAt: message.receivedAt, to: &parsed)
            default: break
            }
        }
        switch parsed.method {
        case "report"?:
            guard let paramMembers = params?.members else {
                return reject(.noParams, "a report needs a params object")
            }
            collectReadings(paramMembers, product: topic.product, into: &parsed)
        case "event_post"?:
            parsed.events = [makeEvent(document, receivedAt: message.receivedAt)]
        case "events_post"?:
            parsed.events = (document["events"]?.elements ?? []).map { makeEvent($0, receivedAt: message.receivedAt) }
        default:
            break
        }
        return .accepted(parsed)
    }

    private func applyTimestamp(_ value: JSONValue, receivedAt: Int64, to parsed: inout ParsedMessage) {
        guard let milliseconds = Self.milliseconds(from: value) else { return }
        if Self.isPlausible(milliseconds, receivedAt: receivedAt) {
            parsed.deviceTimestamp = milliseconds
        } else {
            parsed.isClockSkewed = true
        }
    }

    /// A device timestamp in ms: values below 1e11 are seconds (protocol.md §2).
    static func milliseconds(from value: JSONValue) -> Int64? {
        guard let number = value.doubleValue, number.isFinite, abs(number) < 1e16 else { return nil }
        return number < 1e11 ? Int64((number * 1000).rounded(.down)) : Int64(number.rounded(.down))
    }

    static func isPlausible(_ milliseconds: Int64, receivedAt: Int64) -> Bool {
        milliseconds >= receivedAt - skewPast && milliseconds <= receivedAt + skewFuture
    }

    private func collectReadings(_ params: [JSONMember], product: String, into parsed: inout ParsedMessage) {
        let template = template.flatMap { $0.applies(to: product) ? $0 : nil }
        for member in params {
            let value: Double
            switch member.value {
            case .number(let number): value = number
            case .bool(let flag): value = flag ? 1 : 0
            default: continue
            }
            guard Self.isValidPropertyID(member.key) else {
                parsed.invalidPropertyIDCount += 1
                continue
            }
            if let template {
                switch template.check(member.key, value: value) {
                case .valid: break
                case .outOfRange: parsed.outOfRangeCount += 1
                case .unknownProperty: parsed.unknownPropertyCount += 1
                }
            }
            parsed.readings.append((member.key, value))
        }
    }

    static func isValidPropertyID(_ id: String) -> Bool {
        let bytes = id.utf8
        return !bytes.isEmpty && bytes.count <= maximumPropertyIDBytes && !bytes.contains { $0 < 0x20 || $0 == 0x7F }
    }

    private func makeEvent(_ value: JSONValue, receivedAt: Int64) -> ParsedEvent {
        var timestamp: Int64?
        if let stamp = value["timestamp"].flatMap(Self.milliseconds(from:)),
           Self.isPlausible(stamp, receivedAt: receivedAt) {
            timestamp = stamp
        }
        let id = value["eventId"]?.stringValue ?? ""
        return ParsedEvent(eventID: String(id.utf8.prefix(Self.maximumPropertyIDBytes)) ?? "",
                           type: value["type"]?.stringValue.map { String($0.prefix(32)) },
                           timestamp: timestamp,
                           params: value["params"].map(JSONWriter.serialize) ?? "{}")
    }

    /// Whether any number in the document is not finite; cheap, so the path is only built for rejects.
    static func containsNonFinite(_ value: JSONValue) -> Bool {
        switch value {
        case .number(let number): !number.isFinite
        case .array(let elements): elements.contains(where: containsNonFinite)
        case .object(let members): members.contains { containsNonFinite($0.value) }
        default: false
        }
    }

    /// The path of the first non-finite number (an overflow such as `1e309`), or nil.
    static func nonFinitePath(in value: JSONValue, path: String = "$") -> String? {
        switch value {
        case .number(let number): return number.isFinite ? nil : path
        case .array(let elements):
            for (index, element) in elements.enumerated() {
                if let found = nonFinitePath(in: element, path: "\(path)[\(index)]") { return found }
            }
            return nil
        case .object(let members):
            for member in members {
                if let found = nonFinitePath(in: member.value, path: "\(path).\(member.key.prefix(64))") {
                    return found
                }
            }
            return nil
        default: return nil
        }
    }
}

extension ParsedMessage {
    init(topic: ThingTopic) {
        self.topic = topic
    }
}
