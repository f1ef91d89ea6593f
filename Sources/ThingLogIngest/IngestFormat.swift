import ThingLogCore

/// The input formats of `ingest` (SPEC §4) and how one line of each becomes a message.
public enum IngestFormat: String, CaseIterable, Sendable {
    /// `{"topic": …, "payload": string | object, "received_at": epoch-ms | ISO string}` per line.
    case jsonl
    /// `mosquitto_sub -v` output: topic, one space, payload.
    case mosquitto
    /// One payload per line; the topic comes from `--topic`.
    case payload
    /// One Tencent data-forwarding envelope per line (protocol.md §6).
    case forward

    /// A decoded line: a message (with its payload already parsed when the line held it as JSON), or a reject.
    public enum Decoded {
        case message(IncomingMessage, parsedPayload: JSONValue?)
        case rejected(Rejection)
        case blank
    }

    /// Decodes one line. `now` is the receive time for formats that carry none; `topic` is `--topic`.
    public func decode(_ line: UnsafeBufferPointer<UInt8>, now: Int64, topic: String?) -> Decoded {
        if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return .blank }
        switch self {
        case .payload:
            return .message(IncomingMessage(topic: topic ?? "", payload: Array(line), receivedAt: now, origin: .live),
                            parsedPayload: nil)
        case .mosquitto:
            let space = line.firstIndex(of: 0x20) ?? line.count
            let topicBytes = UnsafeBufferPointer(rebasing: line[0..<space])
            let payload = space < line.count ? Array(line[(space + 1)...]) : []
            let topicText = UTF8Validation.isValid(topicBytes) ? String(decoding: topicBytes, as: UTF8.self)
                                                               : "(invalid UTF-8)"
            return .message(IncomingMessage(topic: topicText, payload: payload, receivedAt: now, origin: .live),
                            parsedPayload: nil)
        case .jsonl, .forward:
            return decodeEnvelope(line, now: now)
        }
    }

    /// 2000-01-01T00:00:00Z: no recording is older than this (SPEC §5 `bad_received_at`).
    static let earliestReceiveTime: Int64 = 946_684_800_000

    /// A recorded receive time in ms, or nil when it is not within [2000-01-01, now + 10 min] (compared as a Double
    /// first, so no value can overflow).
    static func receiveTime(_ milliseconds: Double, now: Int64) -> Int64? {
        guard milliseconds.isFinite, milliseconds >= Double(earliestReceiveTime),
              milliseconds <= Double(now) + 600_000 else { return nil }
        return Int64(milliseconds.rounded(.down))
    }

    /// Decodes one envelope the platform forwarded live over HTTP (`receive`): as a `forward` line, but received
    /// now (the envelope's `timestamp` is when the platform sent it) and with `seq` telling a resend.
    public static func decodeForwarded(_ envelope: UnsafeBufferPointer<UInt8>, now: Int64) -> Decoded {
        IngestFormat.forward.decodeEnvelope(envelope, now: now, isLive: true)
    }

    private func decodeEnvelope(_ line: UnsafeBufferPointer<UInt8>, now: Int64, isLive: Bool = false) -> Decoded {
        func reject(_ reason: RejectReason, _ detail: String, topic: String? = nil) -> Decoded {
            .rejected(Rejection(reason: reason, detail: detail, topic: topic, receivedAt: now, bytes: line))
        }
        guard UTF8Validation.isValid(line) else { return reject(.invalidUTF8, "line is not valid UTF-8") }
        let members: [(member: JSONMember, span: Range<Int>)]
        do {
            members = try JSONParser.parseObjectWithSpans(line)
        } catch {
            return reject(.badRecord, "not a \(rawValue) record: \(error)")
        }
        func value(_ key: String) -> (JSONValue, Range<Int>)? {
            members.first { $0.member.key == key }.map { ($0.member.value, $0.span) }
        }
        var topic = value("topic")?.0.stringValue
        var receivedAt = now
        func badReceivedAt(_ text: String) -> Decoded {
            reject(.badReceivedAt, "\(text): expected a time between 2000-01-01 and 10 minutes from now",
                   topic: topic)
        }
        var sequence: Int64?
        if self == .forward {
            if let seq = value("seq")?.0.doubleValue, seq == seq.rounded(), abs(seq) < 9e15 { sequence = Int64(seq) }
            if topic == nil, let product = value("productid")?.0.stringValue,
               let device = value("devicename")?.0.stringValue {
                topic = "$thing/up/property/\(product)/\(device)"
            }
            if !isLive, let (stamp, _) = value("timestamp"), stamp != .null {
                guard let seconds = stamp.doubleValue,
                      let milliseconds = Self.receiveTime(seconds < 1e11 ? seconds * 1000 : seconds, now: now) else {
                    return badReceivedAt("timestamp \(JSONWriter.serialize(stamp).prefix(64))")
                }
                receivedAt = milliseconds
            }
        } else if let received = value("received_at")?.0 {
            switch received {
            case .number(let number):
                guard let milliseconds = Self.receiveTime(number, now: now) else {
                    return badReceivedAt("received_at \(JSONWriter.serialize(received).prefix(64))")
                }
                receivedAt = milliseconds
            case .string(let text):
                guard let parsed = Timestamp.parseISO8601(text) else {
                    return reject(.badRecord, "received_at is not ISO 8601 with a zone: \(text.prefix(64))",
                                  topic: topic)
                }
                guard let milliseconds = Self.receiveTime(Double(parsed), now: now) else {
                    return badReceivedAt("received_at \(text.prefix(64))")
                }
                receivedAt = milliseconds
            case .null:
                break
            default:
                return reject(.badRecord, "received_at must be epoch milliseconds or an ISO 8601 string", topic: topic)
            }
        }
        guard let topic else { return reject(.badRecord, "the record has no topic") }
        guard let (payload, span) = value("payload") else {
            return reject(.badRecord, "the record has no payload", topic: topic)
        }
        let message: IncomingMessage
        let parsed: JSONValue?
        let origin: IncomingMessage.Origin = isLive ? .forwarded : .recorded
        if case .string(let text) = payload {
            message = IncomingMessage(topic: topic, payload: Array(text.utf8), receivedAt: receivedAt,
                                      sequence: sequence, origin: origin)
            parsed = nil
        } else {
            message = IncomingMessage(topic: topic, payload: Array(line[span]), receivedAt: receivedAt,
                                      sequence: sequence, origin: origin)
            parsed = payload
        }
        return .message(message, parsedPayload: parsed)
    }
}
