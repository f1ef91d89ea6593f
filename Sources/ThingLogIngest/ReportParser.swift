import ThingLogCore
import ThingLogStore

/// Turns raw messages into `ParsedMessage`s or `Rejection`s. Pure: no store, no clock.
///
/// Every byte of a message is hostile input (SPEC §5): names follow `names`, counts are bounded by `limits`, and
/// numbers are converted only after a range check, so no message can trap, and no message grows anything unbounded.
public struct ReportParser: Sendable {
    public var template: DataTemplate? {
        didSet {
            parseMemo = ParseMemo()
            templateProduct = template.map(\.productID)
        }
    }
    /// Which products the template checks: nil without a template, `.some(nil)` every product. Kept apart so that a
    /// message's check does not copy the template (a copy retains and releases each of its tables).
    private var templateProduct: String??
    public var names: NameRules { didSet { parseMemo = ParseMemo() } }
    /// What was decided about recent topics and the keys of recent layouts (under this template and these rules).
    private(set) var parseMemo = ParseMemo()
    public var limits: IngestLimits { didSet { parseMemo = ParseMemo() } }

    /// Largest payload accepted (SPEC §5: 256 KiB).
    public static let maximumPayloadBytes = 256 * 1024
    static let skewPast: Int64 = 366 * 86_400_000
    static let skewFuture: Int64 = 10 * 60_000

    public init(template: DataTemplate? = nil, names: NameRules = .platform, limits: IngestLimits = .default) {
        self.template = template
        templateProduct = template.map(\.productID)
        self.names = names
        self.limits = limits
    }

    /// The outcome of parsing one message.
    public enum Outcome: Sendable {
        case accepted(ParsedMessage)
        case rejected(Rejection)
    }

    /// What to store for a message: the message with its parse (its payload split for the archive here, on the
    /// parsing thread: the store's writer is the busier one), or its rejection. `parsedPayload` skips the JSON parse
    /// when the caller already holds the payload's value (a jsonl record with an object payload). The message is
    /// moved into the entry, not copied (a copy retains, and later releases, its arrays and strings).
    public func entry(for message: consuming IncomingMessage, parsedPayload: JSONValue? = nil) -> StoreEntry {
        // A device's report of its last report's shape: split along that shape and read by its plan.
        if parsedPayload == nil, let known = parseMemo.topic(message.topic), let topic = known.parsed,
           let plan = known.plan {
            var parsed = ParsedMessage(topic: topic)
            if readsAlongPlan(plan, message, into: &parsed) { return .accepted(message, parsed) }
        }
        // Split first: the fast path reads a payload of a shape it has read before by that shape's plan.
        let shape = message.payload.count <= Self.maximumPayloadBytes
            ? PayloadShape(payload: message.payload, receivedAt: message.receivedAt) : nil
        switch parse(message, parsedPayload: parsedPayload, shape: shape) {
        case .accepted(let parsed): return .accepted(message, parsed)
        case .rejected(let rejection): return .rejected(rejection)
        }
    }

    /// `fastPath` false: always the general parse (tests compare the two). `shape`, the payload's split, lets the
    /// fast path use and leave plans (`ReportPlan`); an accepted parse keeps it as its `payloadShape`.
    public func parse(_ message: IncomingMessage, parsedPayload: JSONValue? = nil, fastPath: Bool = true,
                      shape: PayloadShape? = nil) -> Outcome {
        func reject(_ reason: RejectReason, _ detail: String) -> Outcome {
            .rejected(Rejection(reason: reason, detail: detail, topic: message.topic,
                                receivedAt: message.receivedAt, bytes: message.payload))
        }
        let remembered = parseMemo.topic(message.topic)
        let parsedTopic = remembered.map(\.parsed) ?? ThingTopic(message.topic, names: names)
        if remembered == nil { parseMemo.remember(message.topic, parsed: parsedTopic) }
        guard let topic = parsedTopic else {
            return reject(.badTopic, "not a $thing/{up|down}/{property|event|action}/PRODUCT/DEVICE topic "
                          + "with a ProductID and DeviceName of the \(names.rawValue) name rules")
        }
        guard message.payload.count <= Self.maximumPayloadBytes else {
            return reject(.tooLarge, "payload of \(message.payload.count) bytes exceeds \(Self.maximumPayloadBytes)")
        }
        if fastPath, parsedPayload == nil {
            var parsed = ParsedMessage(topic: topic)
            if readsReport(message, shape: shape, into: &parsed) { return .accepted(parsed) }
        }
        let document: JSONValue
        switch Self.document(of: message, parsedPayload: parsedPayload) {
        case .rejected(let rejection): return .rejected(rejection)
        case .parsed(let value): document = value
        }
        guard let members = document.members else {
            return reject(.notObject, "payload is \(document.kindName), not an object")
        }
        if let key = Self.repeatedKey(in: members) {
            return reject(.duplicateKey, "key \(Self.quoted(key)) appears twice")
        }
        if Self.containsNonFinite(document), let path = Self.nonFinitePath(in: document) {
            return reject(.nonFiniteNumber, "number out of range at \(path)")
        }
        var parsed = ParsedMessage(topic: topic)
        var params: JSONValue?
        for member in members {
            switch member.key {
            case "method": parsed.method = member.value.stringValue
            case "clientToken": parsed.clientToken = member.value.stringValue.map { Self.prefix($0, bytes: 256) }
            case "params": params = member.value
            case "timestamp": applyTimestamp(member.value, receivedAt: message.receivedAt, to: &parsed)
            default: break
            }
        }
        if let paramMembers = params?.members, let key = Self.repeatedKey(in: paramMembers) {
            return reject(.duplicateKey, "params key \(Self.quoted(key)) appears twice")
        }
        if let rejection = collect(method: parsed.method, document: document, params: params?.members,
                                   message: message, into: &parsed) {
            return .rejected(rejection)
        }
        parsed.payloadShape = shape
        return .accepted(parsed)
    }

    /// A payload as JSON, or why it is not.
    private enum Document {
        case parsed(JSONValue)
        case rejected(Rejection)
    }

    /// The payload as JSON: the caller's parse, or UTF-8 validation and a parse here.
    private static func document(of message: IncomingMessage, parsedPayload: JSONValue?) -> Document {
        if let parsedPayload { return .parsed(parsedPayload) }
        func reject(_ reason: RejectReason, _ detail: String) -> Document {
            .rejected(Rejection(reason: reason, detail: detail, topic: message.topic, receivedAt: message.receivedAt,
                                bytes: message.payload))
        }
        let outcome: Result<JSONValue, JSONError>? = message.payload.withUnsafeBufferPointer { buffer in
            guard UTF8Validation.isValid(buffer) else { return nil }
            return Result { () throws(JSONError) in try JSONParser.parse(buffer) }
        }
        switch outcome {
        case nil: return reject(.invalidUTF8, "payload is not valid UTF-8")
        case .failure(let error)?: return reject(.notJSON, error.description)
        case .success(let value)?: return .parsed(value)
        }
    }

    /// Collects what the method carries (a report's readings, events); a rejection when it breaks a rule.
    private func collect(method: String?, document: JSONValue, params paramMembers: [JSONMember]?,
                         message: IncomingMessage, into parsed: inout ParsedMessage) -> Rejection? {
        func reject(_ reason: RejectReason, _ detail: String) -> Rejection {
            Rejection(reason: reason, detail: detail, topic: message.topic, receivedAt: message.receivedAt,
                      bytes: message.payload)
        }
        switch method {
        case "report"?:
            guard let paramMembers else { return reject(.noParams, "a report needs a params object") }
            guard paramMembers.count <= limits.propertiesPerReport else {
                return reject(.tooManyProperties,
                              "\(paramMembers.count) params exceed the limit of \(limits.propertiesPerReport)")
            }
            collectReadings(paramMembers, product: parsed.topic.product, into: &parsed)
        case "event_post"?:
            guard let event = makeEvent(document, receivedAt: message.receivedAt) else {
                return reject(.badEvent, "eventId and type must follow the \(names.rawValue) property-id rule")
            }
            parsed.events = [event]
        case "events_post"?:
            let elements = document["events"]?.elements ?? []
            guard elements.count <= limits.propertiesPerReport else {
                return reject(.tooManyProperties,
                              "\(elements.count) events exceed the limit of \(limits.propertiesPerReport)")
            }
            for element in elements {
                guard let event = makeEvent(element, receivedAt: message.receivedAt) else {
                    return reject(.badEvent, "eventId and type must follow the \(names.rawValue) property-id rule")
                }
                parsed.events.append(event)
            }
        default:
            break
        }
        return nil
    }

    func applyTimestamp(_ value: JSONValue, receivedAt: Int64, to parsed: inout ParsedMessage) {
        if let milliseconds = Self.milliseconds(from: value), Self.isPlausible(milliseconds, receivedAt: receivedAt) {
            parsed.deviceTimestamp = milliseconds
        } else {
            parsed.isClockSkewed = true
        }
    }

    /// A device timestamp in ms (protocol.md §2: values below 1e11 are seconds), or nil when the value is not one:
    /// not a number, not finite, fractional beyond the millisecond, or outside Int64. Range-checked in Double first,
    /// so no value can overflow.
    static func milliseconds(from value: JSONValue) -> Int64? {
        guard let number = value.doubleValue, number.isFinite else { return nil }
        let milliseconds = number < 1e11 ? number * 1000 : number
        let whole = milliseconds.rounded()
        // Seconds with a millisecond fraction are not exact in binary: allow for that representation error only.
        let tolerance = number < 1e11 ? 0.01 : 0
        guard abs(milliseconds - whole) <= tolerance, abs(whole) < 9.2e18 else { return nil }
        return Int64(exactly: whole)
    }

    /// Whether a device time lies in [received_at − 366 d, received_at + 10 min] (SPEC §5), without overflow.
    static func isPlausible(_ milliseconds: Int64, receivedAt: Int64) -> Bool {
        let (earliest, pastOverflow) = receivedAt.subtractingReportingOverflow(skewPast)
        let (latest, futureOverflow) = receivedAt.addingReportingOverflow(skewFuture)
        return (pastOverflow || milliseconds >= earliest) && (futureOverflow || milliseconds <= latest)
    }

    private func collectReadings(_ params: [JSONMember], product: String, into parsed: inout ParsedMessage) {
        let checksTemplate = templateApplies(to: product)
        parsed.readings.reserveCapacity(params.count)
        for member in params {
            let value: Double
            switch member.value {
            case .number(let number): value = number
            case .bool(let flag): value = flag ? 1 : 0
            default: continue
            }
            collectReading(member.key, value, checksTemplate: checksTemplate, into: &parsed)
        }
    }

    /// Whether the template checks the readings of `product` (`DataTemplate.applies(to:)`).
    func templateApplies(to product: String) -> Bool {
        templateProduct.map { DataTemplate.applies(productID: $0, to: product) } ?? false
    }

    /// One numeric param: a reading, or a count of what the name rules or the template say of it.
    func collectReading(_ key: String, _ value: Double, checksTemplate: Bool, into parsed: inout ParsedMessage) {
        Self.collectReading(key, value, isValidName: names.isValidPropertyID(key), checksTemplate: checksTemplate,
                            bounds: template?.bounds(of: key), into: &parsed)
    }

    /// `collectReading` with the name rules' verdict and the template's `bounds` given (the fast path remembers
    /// them per layout); whether it became a reading.
    @discardableResult
    static func collectReading(_ key: String, _ value: Double, isValidName: Bool, checksTemplate: Bool,
                               bounds: @autoclosure () -> DataTemplate.Bounds?,
                               into parsed: inout ParsedMessage) -> Bool {
        guard isValidName else {
            parsed.invalidPropertyIDCount += 1
            return false
        }
        if checksTemplate {
            switch DataTemplate.verdict(bounds(), value: value) {
            case .valid: break
            case .outOfRange: parsed.outOfRangeCount += 1
            case .unknownProperty: parsed.unknownPropertyCount += 1
            }
        }
        parsed.readings.append((key, value))
        return true
    }

    /// An event, or nil when its `eventId` or `type` breaks the property-id rule (`bad_event`).
    private func makeEvent(_ value: JSONValue, receivedAt: Int64) -> ParsedEvent? {
        guard let id = value["eventId"]?.stringValue, names.isValidPropertyID(id) else { return nil }
        var type: String?
        if let typeValue = value["type"], typeValue != .null {
            guard let text = typeValue.stringValue, names.isValidPropertyID(text) else { return nil }
            type = text
        }
        var timestamp: Int64?
        if let stamp = value["timestamp"].flatMap(Self.milliseconds(from:)),
           Self.isPlausible(stamp, receivedAt: receivedAt) {
            timestamp = stamp
        }
        return ParsedEvent(eventID: id, type: type, timestamp: timestamp,
                           params: value["params"].map(JSONWriter.serialize) ?? "{}")
    }

    /// The first key that appears twice among `members`, compared as bytes (`café` and `cafe\u{301}` differ).
    static func repeatedKey(in members: [JSONMember]) -> String? {
        if members.count <= 16 {
            for index in members.indices.dropFirst() {
                let key = members[index].key
                if members[..<index].contains(where: { hasSameBytes($0.key, key) }) { return key }
            }
            return nil
        }
        var seen = Set<ExactName>()
        for member in members where !seen.insert(ExactName(member.key)).inserted { return member.key }
        return nil
    }

    /// A device-sent name for a reject's detail: quoted, bounded, control characters escaped.
    /// The longest prefix of whole Unicode scalars within `bytes` UTF-8 bytes.
    static func prefix(_ text: String, bytes: Int) -> String {
        guard text.utf8.count > bytes else { return text }
        var result = String.UnicodeScalarView()
        var used = 0
        for scalar in text.unicodeScalars {
            used += UTF8.width(scalar)
            guard used <= bytes else { break }
            result.append(scalar)
        }
        return String(result)
    }

    static func quoted(_ text: String) -> String {
        JSONWriter.serialize(.string(String(decoding: text.utf8.prefix(64), as: UTF8.self)))
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

extension Configuration {
    /// The parser every ingesting command uses.
    public var reportParser: ReportParser { ReportParser(template: template, names: names, limits: limits) }
}
