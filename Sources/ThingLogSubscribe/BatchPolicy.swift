import ThingLogCore
import ThingLogStore
import MQTT

/// The subscriber's group-commit and acknowledgement policy (SPEC §4 `subscribe`), as a pure value: events and the
/// time come in, decisions come out, so the rules that keep QoS 1 at-least-once are tested without a socket or a
/// clock (like `ClientSession`).
///
/// - A batch closes after `maximumBatch` messages, after `maximumAgeMilliseconds`, when the socket has nothing more
///   to read, when the message limit is reached, or when the connection is lost or the subscriber stops.
/// - A committed batch's packet ids are acknowledged only on the connection its messages came on: after a
///   reconnect the broker redelivers them, and the store recognises the redeliveries.
/// What a committed batch releases: the QoS 1 packet ids to acknowledge, on the connection their messages came on,
/// and the platform replies to publish (`--reply`).
struct Acknowledgements: Sendable {
    var packetIDs: [UInt16] = []
    var connection = 0
    var replies: [(topic: String, payload: [UInt8])] = []
}

/// The subscriber's writer thread: batches of entries, released as acknowledgements once committed.
typealias BatchCommitter = GroupCommitter<Acknowledgements>

struct BatchPolicy {
    let maximumBatch: Int
    let maximumAgeMilliseconds: Int64
    /// Counts connections; a batch remembers the one its messages came on.
    private(set) var connection = 0
    private(set) var open = BatchCommitter.Batch(entries: [], token: Acknowledgements())
    private var openedAt: Int64 = 0

    init(maximumBatch: Int, maximumAgeMilliseconds: Int64) {
        self.maximumBatch = maximumBatch
        self.maximumAgeMilliseconds = maximumAgeMilliseconds
    }

    /// A new connection is up: acknowledgements of earlier ones must not go out on it.
    mutating func connected() {
        connection += 1
    }

    /// Adds a received message; `packetID` is nil for QoS 0 (nothing to acknowledge).
    mutating func add(_ entry: consuming StoreEntry, packetID: UInt16?, reply: (topic: String, payload: [UInt8])? = nil,
                      now: Int64) {
        if open.entries.isEmpty {
            openedAt = now
            open.token.connection = connection
            open.entries.reserveCapacity(64)
            open.token.packetIDs.reserveCapacity(64)
        }
        open.entries.append(entry)
        if let packetID { open.token.packetIDs.append(packetID) }
        if let reply { open.token.replies.append(reply) }
    }

    /// The open batch, when one of the closing rules holds now; the policy starts a new one.
    mutating func batchToClose(drained: Bool, atMessageLimit: Bool, now: Int64) -> BatchCommitter.Batch? {
        guard !open.entries.isEmpty else { return nil }
        let isFull = open.entries.count >= maximumBatch
        let isOld = now - openedAt >= maximumAgeMilliseconds
        return drained || atMessageLimit || isFull || isOld ? closeNow() : nil
    }

    /// The open batch whatever its size (connection lost, stopping); nil when empty.
    mutating func closeNow() -> BatchCommitter.Batch? {
        guard !open.entries.isEmpty else { return nil }
        defer { open = BatchCommitter.Batch(entries: [], token: Acknowledgements()) }
        return open
    }

    /// Drops the open batch (nothing of it was acknowledged, so the broker redelivers it).
    mutating func discardOpen() {
        open = BatchCommitter.Batch(entries: [], token: Acknowledgements())
    }

    /// How long the network may be waited on: until the open batch is due, or `idle` when there is none.
    func pollTimeout(now: Int64, idle: Int64 = 1_000) -> Int64 {
        open.entries.isEmpty ? idle : max(0, openedAt + maximumAgeMilliseconds - now)
    }

    /// The packet ids that may be acknowledged now, from committed batches, in commit order.
    func acknowledgements(for done: [BatchCommitter.Done], isConnected: Bool) -> [UInt16] {
        guard isConnected else { return [] }
        return done.filter { $0.token.connection == connection }.flatMap(\.token.packetIDs)
    }
}
