/// The client side of an MQTT 3.1.1 session as a state machine: bytes never reach it, time comes in as a parameter,
/// and every event returns the actions to take. It owns CONNECT/CONNACK, subscriptions and SUBACK checks,
/// keep-alive (PINGREQ when idle, closing when PINGRESP is late), packet identifiers and acknowledgements.
public struct ClientSession: Sendable {
    /// What a session connects with.
    public struct Options: Sendable, Equatable {
        public var clientID: String
        public var username: String?
        public var password: [UInt8]?
        public var keepAliveSeconds: UInt16
        public var cleanSession: Bool
        public var subscriptions: [Subscription]
        /// How long CONNACK, SUBACK and PINGRESP may take before the connection is considered dead.
        public var responseTimeoutMilliseconds: Int64

        public init(clientID: String, username: String? = nil, password: [UInt8]? = nil, keepAliveSeconds: UInt16 = 60,
                    cleanSession: Bool = false, subscriptions: [Subscription] = [],
                    responseTimeoutMilliseconds: Int64 = 10_000) {
            self.clientID = clientID
            self.username = username
            self.password = password
            self.keepAliveSeconds = keepAliveSeconds
            self.cleanSession = cleanSession
            self.subscriptions = subscriptions
            self.responseTimeoutMilliseconds = responseTimeoutMilliseconds
        }
    }

    public enum State: Equatable, Sendable {
        case disconnected
        case awaitingConnAck(since: Int64)
        case awaitingSubAck(packetID: UInt16, since: Int64)
        case ready
    }

    /// Why a session cannot go on at all: reconnecting would not help.
    public enum Failure: Error, Equatable, Sendable, CustomStringConvertible {
        case connectionRefused(ConnAckPacket.ReturnCode)
        case subscriptionRefused(filter: String)

        public var description: String {
            switch self {
            case .connectionRefused(let code): "the broker refused the connection: \(code.explanation)"
            case .subscriptionRefused(let filter): "the broker refused the subscription to \(filter)"
            }
        }
    }

    public enum Action: Equatable, Sendable {
        case send(Packet)
        /// A message for the application; a QoS 1 message must be acknowledged with `acknowledge(packetID:)`.
        case deliver(PublishPacket)
        /// A message over the decoder's size limit; acknowledge it like any other.
        case deliverOversized(OversizedPublish)
        /// Connected (and subscribed, when there was anything to subscribe).
        case ready(sessionPresent: Bool)
        /// The broker granted a filter a lower QoS than asked (its messages come at most once).
        case downgraded(filter: String, granted: QoS)
        /// The broker acknowledged one of our QoS 1 publishes.
        case published(packetID: UInt16)
        /// Close the connection (and reconnect later).
        case close(reason: String)
        /// Stop for good.
        case fail(Failure)
    }

    public let options: Options
    public private(set) var state: State = .disconnected
    private var lastSentAt: Int64 = 0
    private var pingSentAt: Int64?
    private var nextPacketID: UInt16 = 1
    /// Our QoS 1 publishes not yet acknowledged, in send order, for resending after a reconnect.
    private var unacknowledged: [UInt16: PublishPacket] = [:]
    private var unacknowledgedOrder: [UInt16] = []
    private var hasSubscribedInThisProcess = false

    public init(options: Options) {
        self.options = options
    }

    /// Our QoS 1 publishes the broker has not acknowledged yet.
    public var inFlightCount: Int { unacknowledged.count }

    /// A transport connection is open: send CONNECT.
    public mutating func connectionOpened(now: Int64) -> [Action] {
        state = .awaitingConnAck(since: now)
        pingSentAt = nil
        return [send(.connect(ConnectPacket(clientID: options.clientID, username: options.username,
                                            password: options.password, keepAliveSeconds: options.keepAliveSeconds,
                                            cleanSession: options.cleanSession)), now: now)]
    }

    /// The transport connection is gone. Unacknowledged publishes are kept and resent after the next CONNACK.
    public mutating func connectionClosed() {
        state = .disconnected
        pingSentAt = nil
    }

    public mutating func received(_ packet: Packet, now: Int64) -> [Action] {
        switch packet {
        case .connAck(let connAck):
            guard case .awaitingConnAck = state else { return [.close(reason: "unexpected CONNACK")] }
            guard connAck.returnCode == .accepted else {
                state = .disconnected
                if connAck.returnCode == .serverUnavailable {
                    return [.close(reason: "broker unavailable (CONNACK 3)")]
                }
                return [.fail(.connectionRefused(connAck.returnCode))]
            }
            var actions: [Action] = []
            // Subscribe on this process's first connection, and whenever the broker did not keep the session.
            if !options.subscriptions.isEmpty && (!connAck.sessionPresent || !hasSubscribedInThisProcess) {
                let packetID = allocatePacketID()
                state = .awaitingSubAck(packetID: packetID, since: now)
                actions.append(send(.subscribe(SubscribePacket(packetID: packetID,
                                                               subscriptions: options.subscriptions)), now: now))
            } else {
                state = .ready
                actions.append(.ready(sessionPresent: connAck.sessionPresent))
            }
            for packetID in unacknowledgedOrder {
                guard var publish = unacknowledged[packetID] else { continue }
                publish.dup = true
                actions.append(send(.publish(publish), now: now))
            }
            return actions
        case .subAck(let subAck):
            guard case .awaitingSubAck(let packetID, _) = state, packetID == subAck.packetID else {
                return [.close(reason: "unexpected SUBACK")]
            }
            // §3.9.3: one return code per filter, in order: the granted QoS (never above the requested one) or 0x80.
            guard subAck.returnCodes.count == options.subscriptions.count else {
                return [.close(reason: "SUBACK with \(subAck.returnCodes.count) return codes for "
                         + "\(options.subscriptions.count) filters")]
            }
            var actions: [Action] = []
            for (subscription, code) in zip(options.subscriptions, subAck.returnCodes) {
                if code == SubAckPacket.failure { return [.fail(.subscriptionRefused(filter: subscription.filter))] }
                guard let granted = QoS(rawValue: code), granted <= subscription.qos else {
                    return [.close(reason: "SUBACK return code \(code) for \(subscription.filter), which asked for "
                             + "QoS \(subscription.qos.rawValue)")]
                }
                if granted < subscription.qos {
                    actions.append(.downgraded(filter: subscription.filter, granted: granted))
                }
            }
            hasSubscribedInThisProcess = true
            state = .ready
            return actions + [.ready(sessionPresent: false)]
        case .publish(let publish):
            // We subscribe with QoS ≤ 1, so a broker must not send QoS 2 (§3.8.4); a PUBACK would be the wrong
            // answer, and holding it unanswered would stall the session.
            guard publish.qos != .exactlyOnce else { return [.close(reason: Self.qos2Refusal(publish.topic))] }
            return [.deliver(publish)]
        case .oversizedPublish(let publish):
            guard publish.qos != .exactlyOnce else { return [.close(reason: Self.qos2Refusal(publish.topic))] }
            return [.deliverOversized(publish)]
        case .pubAck(let packetID):
            guard unacknowledged.removeValue(forKey: packetID) != nil else { return [] }
            if let index = unacknowledgedOrder.firstIndex(of: packetID) { unacknowledgedOrder.remove(at: index) }
            return [.published(packetID: packetID)]
        case .pingResp:
            pingSentAt = nil
            return []
        case .unsubAck:
            return []
        case .connect, .subscribe, .unsubscribe, .pingReq, .disconnect:
            return [.close(reason: "the broker sent a client-only packet")]
        }
    }

    /// Time passes: keep-alive and response timeouts.
    public mutating func tick(now: Int64) -> [Action] {
        switch state {
        case .disconnected:
            return []
        case .awaitingConnAck(let since):
            return now - since > options.responseTimeoutMilliseconds ? [.close(reason: "no CONNACK")] : []
        case .awaitingSubAck(_, let since):
            return now - since > options.responseTimeoutMilliseconds ? [.close(reason: "no SUBACK")] : []
        case .ready:
            if let pingSentAt, now - pingSentAt > options.responseTimeoutMilliseconds {
                return [.close(reason: "no PINGRESP")]
            }
            let interval = Int64(options.keepAliveSeconds) * 1000
            if interval > 0, pingSentAt == nil, now - lastSentAt >= interval {
                pingSentAt = now
                return [send(.pingReq, now: now)]
            }
            return []
        }
    }

    /// When `tick` next has something to do, for the transport's poll timeout.
    public func nextDeadline() -> Int64? {
        switch state {
        case .disconnected: return nil
        case .awaitingConnAck(let since), .awaitingSubAck(_, let since):
            return since + options.responseTimeoutMilliseconds + 1
        case .ready:
            if let pingSentAt { return pingSentAt + options.responseTimeoutMilliseconds + 1 }
            return options.keepAliveSeconds > 0 ? lastSentAt + Int64(options.keepAliveSeconds) * 1000 : nil
        }
    }

    /// Acknowledges a delivered QoS 1 message (the application has made it durable).
    public mutating func acknowledge(packetID: UInt16, now: Int64) -> Action {
        send(.pubAck(packetID: packetID), now: now)
    }

    /// Publishes a message; at QoS 1 it is tracked until its PUBACK and resent after a reconnect.
    public mutating func publish(topic: String, payload: [UInt8], qos: QoS, now: Int64) -> Action {
        var publish = PublishPacket(topic: topic, payload: payload, qos: qos)
        if qos != .atMostOnce {
            let packetID = allocatePacketID()
            publish.packetID = packetID
            unacknowledged[packetID] = publish
            unacknowledgedOrder.append(packetID)
        }
        return send(.publish(publish), now: now)
    }

    /// A clean goodbye.
    public mutating func disconnect(now: Int64) -> Action {
        state = .disconnected
        return send(.disconnect, now: now)
    }

    private mutating func send(_ packet: Packet, now: Int64) -> Action {
        lastSentAt = now
        return .send(packet)
    }

    private static func qos2Refusal(_ topic: String) -> String {
        "the broker sent a QoS 2 PUBLISH (topic \(String(topic.utf8.prefix(128)) ?? "?")) although every subscription "
            + "asked for QoS 0 or 1; closing without acknowledging it"
    }

    /// The next free packet identifier. Callers of `publish` check `canPublishAtLeastOnce`, so one is always free
    /// and the search ends within one round.
    private mutating func allocatePacketID() -> UInt16 {
        for _ in 0..<Int(UInt16.max) {
            nextPacketID = nextPacketID == UInt16.max ? 1 : nextPacketID + 1
            if unacknowledged[nextPacketID] == nil { return nextPacketID }
        }
        preconditionFailure("all 65535 packet identifiers are in use")
    }

    /// Whether another QoS 1 publish can be tracked: one identifier always stays free for a SUBSCRIBE.
    public var canPublishAtLeastOnce: Bool { unacknowledged.count < Int(UInt16.max) - 1 }
}
