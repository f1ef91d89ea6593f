/// One message as it arrived, before any parsing: from MQTT (`subscribe`) or from a recorded file (`ingest`).
public struct IncomingMessage: Sendable {
    /// Where the message came from, which decides how duplicates are recognised (SPEC §5).
    public enum Origin: Sendable {
        /// Received live from a broker: receive time is our clock, identical payloads are distinct reports.
        case live
        /// Read from a recording with its own receive time: the same topic, receive time and payload bytes
        /// seen again is the same record ingested twice.
        case recorded
        /// Received live over the platform's HTTP data forwarding (`receive`): receive time is our clock; a resent
        /// envelope carries the same `seq`.
        case forwarded
    }

    public var topic: String
    public var payload: [UInt8]
    /// Receive time, epoch milliseconds.
    public var receivedAt: Int64
    /// MQTT packet identifier (QoS 1), when it came over MQTT.
    public var packetID: UInt16?
    /// The forwarding envelope's `seq` (protocol.md §6), kept in the raw archive (`packet_id`).
    public var sequence: Int64?
    /// The MQTT DUP flag: the broker says this may be a redelivery.
    public var isRedelivery: Bool
    public var origin: Origin

    public init(topic: String, payload: [UInt8], receivedAt: Int64, packetID: UInt16? = nil,
                isRedelivery: Bool = false, sequence: Int64? = nil, origin: Origin) {
        self.topic = topic
        self.payload = payload
        self.receivedAt = receivedAt
        self.packetID = packetID
        self.sequence = sequence
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
    /// A repeated key at the top level or in `params`: which value counts would be ambiguous.
    case duplicateKey = "duplicate_key"
    /// More params (or events) than `limits.properties_per_report`.
    case tooManyProperties = "too_many_properties"
    /// An event whose `eventId` or `type` breaks the property-id rule.
    case badEvent = "bad_event"
    /// A recorded `received_at` before 2000-01-01 or after now + 10 minutes.
    case badReceivedAt = "bad_received_at"
    /// A receive-timed report with no free millisecond within 1 s of its receive time.
    case tooFast = "too_fast"
    /// The store could not take a message for a reason of its own (the detail says which); quarantined so that a
    /// broker does not redeliver it forever.
    case unstorable

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// Why readings of an accepted report were left out (SPEC §5): the report itself is kept in the raw archive.
public enum DropReason: String, CaseIterable, Sendable, Comparable {
    /// The property id breaks the name rules.
    case badProperty = "bad_property"
    /// The device already has `limits.series_per_device` series.
    case seriesLimit = "series_limit"
    /// The store already has `limits.devices` devices with readings.
    case deviceLimit = "device_limit"

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
