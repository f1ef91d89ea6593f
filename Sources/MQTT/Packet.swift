/// MQTT 3.1.1 control packets (OASIS MQTT 3.1.1 §2–3), as values. Encoding and decoding are symmetric.
public enum Packet: Equatable, Sendable {
    case connect(ConnectPacket)
    case connAck(ConnAckPacket)
    case publish(PublishPacket)
    case pubAck(packetID: UInt16)
    case subscribe(SubscribePacket)
    case subAck(SubAckPacket)
    case unsubscribe(UnsubscribePacket)
    case unsubAck(packetID: UInt16)
    case pingReq
    case pingResp
    case disconnect
    /// A PUBLISH larger than the decoder's maximum packet size: its header is decoded, its payload skipped
    /// except for the first `OversizedPublish.keptBytes`, so the client can still acknowledge and quarantine it.
    case oversizedPublish(OversizedPublish)

    /// The control packet type (§2.2.1).
    public enum Kind: UInt8, Sendable {
        case connect = 1, connAck, publish, pubAck, pubRec, pubRel, pubComp, subscribe, subAck, unsubscribe,
             unsubAck, pingReq, pingResp, disconnect
    }
}

/// Quality of service (§4.3). thinglog uses 0 and 1.
public enum QoS: UInt8, Sendable, Comparable {
    case atMostOnce = 0
    case atLeastOnce = 1
    case exactlyOnce = 2

    public static func < (lhs: QoS, rhs: QoS) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// CONNECT (§3.1). No will: the Tencent broker supports none and thinglog needs none.
public struct ConnectPacket: Equatable, Sendable {
    public var clientID: String
    public var username: String?
    public var password: [UInt8]?
    public var keepAliveSeconds: UInt16
    public var cleanSession: Bool

    public init(clientID: String, username: String? = nil, password: [UInt8]? = nil, keepAliveSeconds: UInt16,
                cleanSession: Bool) {
        self.clientID = clientID
        self.username = username
        self.password = password
        self.keepAliveSeconds = keepAliveSeconds
        self.cleanSession = cleanSession
    }
}

/// CONNACK (§3.2).
public struct ConnAckPacket: Equatable, Sendable {
    public var sessionPresent: Bool
    public var returnCode: ReturnCode

    /// CONNACK return codes (§3.2.2.3).
    public enum ReturnCode: UInt8, Sendable {
        case accepted = 0
        case unacceptableProtocolVersion = 1
        case identifierRejected = 2
        case serverUnavailable = 3
        case badUsernameOrPassword = 4
        case notAuthorized = 5

        public var explanation: String {
            switch self {
            case .accepted: "accepted"
            case .unacceptableProtocolVersion: "the broker does not speak MQTT 3.1.1"
            case .identifierRejected: "the broker rejected the client id"
            case .serverUnavailable: "the broker is unavailable"
            case .badUsernameOrPassword: "bad user name or password"
            case .notAuthorized: "not authorized"
            }
        }
    }

    public init(sessionPresent: Bool, returnCode: ReturnCode) {
        self.sessionPresent = sessionPresent
        self.returnCode = returnCode
    }
}

/// PUBLISH (§3.3). `packetID` is present exactly when `qos` > 0.
public struct PublishPacket: Equatable, Sendable {
    public var topic: String
    public var payload: [UInt8]
    public var qos: QoS
    public var retain: Bool
    public var dup: Bool
    public var packetID: UInt16?

    public init(topic: String, payload: [UInt8], qos: QoS = .atMostOnce, retain: Bool = false, dup: Bool = false,
                packetID: UInt16? = nil) {
        self.topic = topic
        self.payload = payload
        self.qos = qos
        self.retain = retain
        self.dup = dup
        self.packetID = packetID
    }
}

/// A PUBLISH whose payload exceeded the maximum packet size (see `Packet.oversizedPublish`).
public struct OversizedPublish: Equatable, Sendable {
    public var topic: String
    public var qos: QoS
    public var dup: Bool
    public var packetID: UInt16?
    /// The first bytes of the payload.
    public var payloadPrefix: [UInt8]
    /// The payload's full size in bytes.
    public var payloadSize: Int

    public static let keptBytes = 64 * 1024
}

/// One topic filter and its requested QoS.
public struct Subscription: Equatable, Sendable {
    public var filter: String
    public var qos: QoS

    public init(filter: String, qos: QoS) {
        self.filter = filter
        self.qos = qos
    }
}

/// SUBSCRIBE (§3.8).
public struct SubscribePacket: Equatable, Sendable {
    public var packetID: UInt16
    public var subscriptions: [Subscription]

    public init(packetID: UInt16, subscriptions: [Subscription]) {
        self.packetID = packetID
        self.subscriptions = subscriptions
    }
}

/// SUBACK (§3.9): one return code per filter, the granted QoS or 0x80 for failure.
public struct SubAckPacket: Equatable, Sendable {
    public var packetID: UInt16
    public var returnCodes: [UInt8]

    public static let failure: UInt8 = 0x80

    public init(packetID: UInt16, returnCodes: [UInt8]) {
        self.packetID = packetID
        self.returnCodes = returnCodes
    }
}

/// UNSUBSCRIBE (§3.10).
public struct UnsubscribePacket: Equatable, Sendable {
    public var packetID: UInt16
    public var filters: [String]

    public init(packetID: UInt16, filters: [String]) {
        self.packetID = packetID
        self.filters = filters
    }
}
