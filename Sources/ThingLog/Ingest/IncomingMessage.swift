/// One message as it arrived, before any parsing: from MQTT (`subscribe`) or from a recorded file (`ingest`).
public struct IncomingMessage: Sendable {
    /// Where the message came from, which decides how duplicates are recognised (SPEC §5).
    public enum Origin: Sendable {
        /// Received live from a broker: receive time is our clock, identical payloads are distinct reports.
        case live
        /// Read from a recording with its own receive time: the same topic, receive time and payload bytes
        /// seen again is the same record ingested twice.
        case recorded
    }

    public var topic: String
    public var payload: [UInt8]
    /// Receive time, epoch milliseconds.
    public var receivedAt: Int64
    /// MQTT packet identifier (QoS 1), when it came over MQTT.
    public var packetID: UInt16?
    /// The MQTT DUP flag: the broker says this may be a redelivery.
    public var isRedelivery: Bool
    public var origin: Origin

    public init(topic: String, payload: [UInt8], receivedAt: Int64, packetID: UInt16? = nil,
                isRedelivery: Bool = false, origin: Origin) {
        self.topic = topic
        self.payload = payload
        self.receivedAt = receivedAt
        self.packetID = packetID
        self.isRedelivery = isRedelivery
        self.origin = origin
    }
}

/// Why a message or an input line was quarantined (SPEC §5). The raw values are the names stored and reported.
public enum RejectReason: String, CaseIterable, Sendable, Comparable {
    case invalidUTF8 = "invalid_utf8"
    case notJSON = "not_json"
    case notObject = "not_object"
    case noParams = "no_params"
    case badTopic = "bad_topic"
    case tooLarge = "too_large"
    case nonFiniteNumber = "non_finite_number"
    /// An ingest line that is not a record of its `--format` (no topic, bad receive time, …).
    case badRecord = "bad_record"
    /// An ingest line longer than the 16 MiB line limit; it is skipped without being buffered whole.
    case lineTooLong = "line_too_long"

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// A quarantined input: what arrived, when, and why it was refused.
public struct Rejection: Sendable {
    public var reason: RejectReason
    public var detail: String
    public var topic: String?
    public var receivedAt: Int64
    /// The first bytes of the input (at most `Rejection.keptBytes`).
    public var bytes: [UInt8]
    /// The input's full size in bytes.
    public var size: Int

    /// How much of a rejected input is kept (SPEC §5: the first 64 KiB).
    public static let keptBytes = 64 * 1024

    public init(reason: RejectReason, detail: String, topic: String?, receivedAt: Int64,
                bytes: some Collection<UInt8>, size: Int? = nil) {
        self.reason = reason
        self.detail = detail
        self.topic = topic
        self.receivedAt = receivedAt
        self.bytes = Array(bytes.prefix(Self.keptBytes))
        self.size = size ?? bytes.count
    }
}
