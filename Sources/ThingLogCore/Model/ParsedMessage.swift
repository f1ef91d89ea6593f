/// What one accepted message says, before the store gives its readings a time (SPEC §5, protocol.md §2).
public struct ParsedMessage: Sendable {
    public var topic: ThingTopic
    public var method: String?
    /// The message's `clientToken`, echoed in the platform's replies (protocol.md §7); at most 256 bytes kept.
    public var clientToken: String?
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
    /// Numeric params whose ids break the name rules (`bad_property`): kept in the raw report only.
    public var invalidPropertyIDCount = 0
    /// The payload split into shape and numbers for the raw archive, on the parsing thread by `ReportParser.entry`;
    /// nil when it has no shape (the raw bytes are stored) or the parse did not come through `entry` (the writer
    /// splits it).
    public package(set) var payloadShape: PayloadShape?
    /// Set when the parser took the readings' names from a layout it remembered: two messages with equal identities
    /// have the same metrics in the same order (the writer then need not compare them).
    public var metricsIdentity: MetricsIdentity?

    /// A message on `topic` with nothing parsed yet.
    public init(topic: ThingTopic) {
        self.topic = topic
    }
}

/// Which remembered layout a report's readings were named from, and which of its keys became readings. Plain numbers:
/// every message carries one from the parsing thread to the writer, which compares it with the device's last, and a
/// shared object there would have both threads writing its reference count for every message.
public struct MetricsIdentity: Sendable, Equatable {
    /// One per remembered layout, never given twice in a process (`newLayout()`).
    public let layout: UInt64
    /// Bit i: the layout's key i gave a reading.
    public let readingKeys: UInt64

    public init(layout: UInt64, readingKeys: UInt64) {
        self.layout = layout
        self.readingKeys = readingKeys
    }

    /// A layout number not given before in this process.
    public static func newLayout() -> UInt64 {
        lastLayout.update { last in
            last += 1
            return last
        }
    }

    private static let lastLayout = Locked<UInt64>(0)
}

/// One device event from `event_post` or `events_post`.
public struct ParsedEvent: Sendable, Equatable {
    public var eventID: String
    public var type: String?
    /// The event's own timestamp (ms), when present and conforming; else the report's time is used.
    public var timestamp: Int64?
    /// The event's `params` as compact JSON text.
    public var params: String

    package init(eventID: String, type: String? = nil, timestamp: Int64? = nil, params: String) {
        self.eventID = eventID
        self.type = type
        self.timestamp = timestamp
        self.params = params
    }
}

/// One item handed to the store: a parsed message or a quarantined input.
public enum StoreEntry: Sendable {
    case accepted(AcceptedMessage)
    case rejected(Rejection)

    /// A message with its parse.
    public static func accepted(_ message: consuming IncomingMessage,
                                _ parsed: consuming ParsedMessage) -> StoreEntry {
        .accepted(AcceptedMessage(message, parsed))
    }

    /// About the memory it holds: its payload bytes, plus a little for the rest.
    public var byteCount: Int {
        switch self {
        case .accepted(let accepted):
            // (Counted through optional chaining: a `map` over the shape would copy it, retaining both arrays.)
            accepted.message.payload.count + (accepted.parsed.payloadShape?.shape.count ?? 0)
                + (accepted.parsed.payloadShape?.numbers.count ?? 0) + 256
        case .rejected(let rejection): rejection.bytes.count + 256
        }
    }
}

/// An accepted message and its parse, held as one object: batches pass entries through arrays, threads and
/// switches, and a copy of the two structs would retain (and later release) each of their dozen arrays and strings.
public final class AcceptedMessage: Sendable {
    public let message: IncomingMessage
    public let parsed: ParsedMessage

    public init(_ message: IncomingMessage, _ parsed: ParsedMessage) {
        self.message = message
        self.parsed = parsed
    }
}
