import MQTT
import ThingLogCore
import ThingLogStore
import ThingLogIngest

/// The `subscribe` loop (SPEC §4): messages from the broker are parsed into a batch that closes after
/// `maximumBatch` messages, after `maximumBatchAge`, or as soon as the socket has nothing more to read (group
/// commit); a `BatchCommitter` writes and commits closed batches on its own thread while the next one is received.
/// PUBACKs go out only after their batch's COMMIT, and only on the connection the messages came on, so a crash at
/// any instant loses nothing: the broker redelivers, and the store recognises redeliveries. Connection losses
/// reconnect with exponential backoff and jitter, forever; refusals that reconnecting cannot fix stop the loop.
public final class Subscriber {
    /// How the subscriber behaves; defaults follow the SPEC.
    public struct Settings: Sendable {
        public var maximumBatch = 500
        public var maximumBatchAgeMilliseconds: Int64 = 25
        public var statusIntervalMilliseconds: Int64 = 5_000
        public var showsStatus = false
        /// Stop after this many messages (like `mosquitto_sub -C`); nil runs until a signal.
        public var messageLimit: Int?
        /// Publish the platform's replies after each commit (`--reply`).
        public var sendsReplies = false
        /// How long a shared subscription may receive nothing before a warning is logged.
        public var sharedSilenceMilliseconds: Int64 = 60_000
        public init() {}
    }

    /// Running totals for the status line and the final summary.
    public struct Totals: Sendable {
        public var messages = 0
        public var stored = AppendSummary()
        public var reconnects = 0
        /// Monotonic times of the first message and of the last commit, for the flow rate.
        public var firstMessageAt: Int64?
        public var lastCommitAt: Int64?

        /// Messages per second from the first message to the last commit.
        public var flowRate: Double? {
            guard let first = firstMessageAt, let last = lastCommitAt, last > first else { return nil }
            return Double(messages) * 1000 / Double(last - first)
        }
    }

    public let client: MQTTClient
    public let parser: ReportParser
    public let settings: Settings
    private let log: (String) -> Void
    private let wallClock: () -> Int64
    /// Receive times: the wall clock, never running backwards (a step back is slewed).
    private let receiveClock: ReceiveClock
    public private(set) var totals = Totals()
    private let committer: BatchCommitter
    private var policy: BatchPolicy
    /// Counters for `--http`'s `/metrics`.
    public let metrics: Metrics?
    /// When to warn that a shared subscription delivered nothing since the connection was ready.
    private var sharedSilenceDeadline: (at: Int64, messages: Int)?
    /// Whether a connection was ready before (the next ready one is a reconnection).
    private var hasBeenReady = false
    /// Whether a store outage has been logged and not yet ended.
    private var isInOutage = false

    public init(client: MQTTClient, writer: sending StoreWriter, parser: ReportParser, settings: Settings,
                metrics: Metrics? = nil, wallClock: @escaping () -> Int64 = Timestamp.now,
                monotonicClock: @escaping () -> Int64 = MonotonicClock.now,
                reopen: (@Sendable () throws -> StoreWriter)? = nil, log: @escaping (String) -> Void) throws {
        self.client = client
        self.metrics = metrics
        committer = try BatchCommitter(writer: writer, reopen: reopen)
        policy = BatchPolicy(maximumBatch: settings.maximumBatch,
                             maximumAgeMilliseconds: settings.maximumBatchAgeMilliseconds)
        self.parser = parser
        self.settings = settings
        self.wallClock = wallClock
        receiveClock = ReceiveClock(wall: wallClock, monotonic: monotonicClock)
        self.log = log
    }

    /// Runs until `stopDescriptor` becomes readable (exits cleanly) or the broker refuses us (throws).
    public func run(stopDescriptor: Int32) throws {
        var status = (at: MonotonicClock.now(), messages: 0)
        while !StopSignal.isRequested(stopDescriptor) {
            if let limit = settings.messageLimit, totals.messages >= limit { break }
            let timeout = policy.pollTimeout(now: MonotonicClock.now())
            let (events, drained) = client.poll(timeoutMilliseconds: Int32(timeout),
                                                wakeDescriptors: [stopDescriptor, committer.wakeDescriptor])
            // One receive time for what one poll read: the messages came in together (and the clock is read once,
            // not twice per message).
            var receivedAt: Int64?
            for event in events { try handle(event, receivedAt: &receivedAt) }
            let isAtLimit = settings.messageLimit.map { totals.messages >= $0 } ?? false
            let now = MonotonicClock.now()
            // While the writer holds a batch (a store outage), what arrives stays in the open batch: the broker
            // sends no more than its in-flight window without PUBACKs, and the connection is kept alive.
            if committer.hasRoom,
               let batch = policy.batchToClose(drained: drained, atMessageLimit: isAtLimit, now: now) {
                try committer.submit(batch)
            }
            try acknowledge(committer.takeFinished(releasing: false))
            committer.releaseSpent()
            reportOutages()
            warnIfSharedSubscriptionIsSilent(now: now)
            if settings.showsStatus, now - status.at >= settings.statusIntervalMilliseconds {
                let rate = Double(totals.messages - status.messages) * 1000 / Double(now - status.at)
                log("subscribe: \(Int(rate)) msg/s, \(totals.stored.reports) stored, "
                    + "\(totals.stored.duplicateReports) duplicate, \(totals.stored.rejectCount) rejected, "
                    + "\(totals.reconnects) reconnects")
                status = (now, totals.messages)
            }
        }
        committer.beginStopping()
        do {
            try closeBatch()
            // The last PUBACKs and the DISCONNECT go out while the writer closes the store.
            try acknowledge(committer.finishWriting())
        } catch {
            _ = try? committer.finish()   // the store is closed before the error goes up
            throw error
        }
        client.disconnect()
        _ = try committer.finish()
    }

    private var endpoint: String { "\(client.host):\(client.port)" }

    /// What one client event means for the batch, the counters and the log; `receivedAt`, the receive time of the
    /// poll's messages, is read from the clock at the first one.
    private func handle(_ event: MQTTClient.Event, receivedAt: inout Int64?) throws {
        func receiveTime() -> Int64 {
            if let receivedAt { return receivedAt }
            let now = receiveClock.now()
            receivedAt = now
            return now
        }
        switch event {
        case .delivered(let publish):
            let message = IncomingMessage(topic: publish.topic, payload: publish.payload, receivedAt: receiveTime(),
                                          packetID: publish.packetID, isRedelivery: publish.dup, origin: .live)
            store(parser.entry(for: message), packetID: publish.qos == .atMostOnce ? nil : publish.packetID)
        case .deliveredOversized(let publish):
            let rejection = Rejection(reason: .tooLarge, detail: "payload of \(publish.payloadSize) bytes "
                                      + "exceeds \(ReportParser.maximumPayloadBytes)", topic: publish.topic,
                                      receivedAt: receiveTime(), bytes: publish.payloadPrefix,
                                      size: publish.payloadSize)
            store(.rejected(rejection), packetID: publish.qos == .atMostOnce ? nil : publish.packetID)
        case .opened:
            // A new connection, from its first byte: acknowledgements of earlier ones must never go out on it (a
            // packet id of the old connection may name another message on this one).
            policy.connected()
        case .ready(let sessionPresent):
            if hasBeenReady {
                totals.reconnects += 1
                metrics?.add("thinglog_mqtt_reconnects_total")
            }
            hasBeenReady = true
            metrics?.set("thinglog_mqtt_connected", 1)
            if client.session.options.subscriptions.contains(where: { $0.filter.hasPrefix("$share/") }) {
                sharedSilenceDeadline = (MonotonicClock.now() + settings.sharedSilenceMilliseconds, totals.messages)
            }
            if settings.showsStatus {
                log("subscribe: connected to \(endpoint) as \(client.session.options.clientID)"
                    + (sessionPresent ? " (session resumed)" : ""))
            }
        case .downgraded(let filter, let granted):
            log("subscribe: warning: the broker granted \(filter) only QoS \(granted.rawValue): its messages "
                + "are not redelivered after a crash")
        case .published:
            break
        case .disconnected(let reason):
            // What was received is valid: keep it. Its PUBACKs cannot go out; the broker will redeliver. While the
            // writer is held by a store outage it is dropped instead (the redelivery brings it back).
            if committer.hasRoom { try closeBatch() } else { policy.discardOpen() }
            metrics?.set("thinglog_mqtt_connected", 0)
            sharedSilenceDeadline = nil
            log("subscribe: connection to \(endpoint) lost: \(reason); reconnecting")
        case .connectFailed(let reason, let wait):
            log("subscribe: cannot connect to \(endpoint): \(reason); retrying in "
                + "\(Formatting.fixed(Double(wait) / 1000, digits: 1)) s")
        case .failed(let failure):
            committer.beginStopping()
            try closeBatch()
            _ = try committer.finish()
            throw failure
        }
    }

    /// One log line when a store outage starts and one when it ends; `/healthz` says 503 meanwhile.
    private func reportOutages() {
        if let outage = committer.outage, metrics?.problem == nil, !isInOutage {
            isInOutage = true
            metrics?.problem = "store unavailable: \(outage.reason)"
            log("subscribe: store unavailable (\(outage.reason)): holding \(policy.open.entries.count) messages, "
                + "acknowledging nothing, retrying until it can write again")
        }
        for ended in committer.takeEndedOutages() {
            isInOutage = false
            metrics?.problem = nil
            let seconds = Double((ended.endedAt ?? ended.since) - ended.since) / 1000
            log("subscribe: store available again after \(Formatting.fixed(seconds, digits: 1)) s (\(ended.reason)); "
                + "everything held is committed")
        }
    }

    /// Some brokers accept a shared subscription to `$`-topics and deliver nothing: say so once per connection.
    private func warnIfSharedSubscriptionIsSilent(now: Int64) {
        guard let silence = sharedSilenceDeadline, now >= silence.at else { return }
        if totals.messages == silence.messages {
            log("subscribe: warning: the shared subscription has delivered nothing for "
                + "\(settings.sharedSilenceMilliseconds / 1000) s; some brokers (mosquitto 2.0) deliver nothing from "
                + "$-topics to shared subscriptions: use one that does (EMQX) or drop --share-group")
        }
        sharedSilenceDeadline = nil
    }

    /// Adds a message to the open batch.
    private func store(_ entry: consuming StoreEntry, packetID: UInt16?) {
        let now = MonotonicClock.now()
        let reply = settings.sendsReplies ? PlatformReply.reply(to: entry) : nil
        policy.add(entry, packetID: packetID, reply: reply, now: now)
        totals.messages += 1
        if totals.firstMessageAt == nil { totals.firstMessageAt = now }
    }

    /// Hands the open batch to the committer (waiting while it already has one waiting).
    private func closeBatch() throws {
        if let batch = policy.closeNow() { try committer.submit(batch) }
    }

    /// Acknowledges the QoS 1 messages of committed batches that came on the current connection.
    private func acknowledge(_ done: [BatchCommitter.Done]) throws {
        guard !done.isEmpty else { return }
        for batch in done {
            totals.stored.add(batch.summary)
            totals.lastCommitAt = batch.committedAt
            metrics?.recordCommit(source: "mqtt", summary: batch.summary, seconds: batch.seconds, now: wallClock())
            // Replies are QoS 0 and belong to no connection: sent once committed, while connected.
            if client.isConnected {
                for reply in batch.token.replies {
                    client.publish(topic: reply.topic, payload: reply.payload, qos: .atMostOnce)
                }
            }
        }
        let packetIDs = policy.acknowledgements(for: done, isConnected: client.isConnected)
        client.acknowledge(packetIDs: packetIDs)
        if !packetIDs.isEmpty { try? client.flush() }
    }
}
