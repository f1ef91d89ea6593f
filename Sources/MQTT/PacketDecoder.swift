/// A malformed packet: the connection must be closed (MQTT 3.1.1 §4.8).
public struct MQTTDecodingError: Error, Equatable, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "malformed MQTT packet: \(message)" }
}

/// An incremental decoder: append bytes as they arrive, call `next()` until it returns nil ("need more bytes").
/// It never consumes a partial frame. A PUBLISH over `maximumPacketSize` is skipped, not buffered, and reported as
/// `.oversizedPublish`; any other packet over the limit is an error.
public struct PacketDecoder: Sendable {
    /// Largest remaining length buffered whole.
    public var maximumPacketSize: Int
    private var buffer: [UInt8] = []
    private var start = 0
    /// Bytes of an oversized PUBLISH still to discard.
    private var skipping = 0
    private var recentTopics = RecentTopics()

    public init(maximumPacketSize: Int = 1 << 20) {
        self.maximumPacketSize = maximumPacketSize
    }

    /// Bytes buffered and not yet decoded.
    public var bufferedCount: Int { buffer.count - start }

    public mutating func append(_ bytes: some Collection<UInt8>) {
        if skipping > 0 {
            let discarded = min(skipping, bytes.count)
            skipping -= discarded
            buffer.append(contentsOf: bytes.dropFirst(discarded))
        } else {
            buffer.append(contentsOf: bytes)
        }
    }

    /// The next complete packet, nil when more bytes are needed; throws for malformed input.
    public mutating func next() throws(MQTTDecodingError) -> Packet? {
        compactIfWorthIt()
        let available = buffer.count - start
        guard available >= 2 else { return nil }
        let first = buffer[start]
        var length = 0
        var multiplier = 1
        var offset = 1
        while true {
            guard offset < available else { return nil }
            guard offset <= 4 else { throw MQTTDecodingError("remaining length longer than four bytes") }
            let byte = buffer[start + offset]
            length += Int(byte & 0x7F) * multiplier
            multiplier *= 128
            offset += 1
            if byte & 0x80 == 0 { break }
        }
        guard let kind = Packet.Kind(rawValue: first >> 4) else {
            throw MQTTDecodingError("reserved packet type \(first >> 4)")
        }
        if length > maximumPacketSize {
            guard kind == .publish else {
                throw MQTTDecodingError("\(kind) of \(length) bytes exceeds the maximum of \(maximumPacketSize)")
            }
            return try decodeOversizedPublish(flags: first & 0x0F, headerSize: offset, length: length)
        }
        guard available - offset >= length else { return nil }
        let bodyStart = start + offset
        let packet = try buffer.withUnsafeBufferPointer { all throws(MQTTDecodingError) in
            var reader = ByteReader(bytes: UnsafeBufferPointer(rebasing: all[bodyStart..<(bodyStart + length)]))
            return try Self.decode(kind: kind, flags: first & 0x0F, body: &reader, topics: &recentTopics)
        }
        start = bodyStart + length
        return packet
    }

    private mutating func compactIfWorthIt() {
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.capacity <= 1 << 20)
            start = 0
        } else if start > 65_536 && start * 2 > buffer.count {
            buffer.removeFirst(start)
            start = 0
        }
    }

    private mutating func decodeOversizedPublish(flags: UInt8, headerSize: Int,
                                                 length: Int) throws(MQTTDecodingError) -> Packet? {
        let qos = try Self.qos(fromFlags: flags)
        let available = buffer.count - start - headerSize
        guard available >= 2 else { return nil }
        let topicLength = Int(buffer[start + headerSize]) << 8 | Int(buffer[start + headerSize + 1])
        let headerBytes = 2 + topicLength + (qos == .atMostOnce ? 0 : 2)
        guard headerBytes <= length else { throw MQTTDecodingError("PUBLISH topic longer than the packet") }
        let kept = min(OversizedPublish.keptBytes, length - headerBytes)
        guard available >= headerBytes + kept else { return nil }
        let bodyStart = start + headerSize
        let packet = try buffer.withUnsafeBufferPointer { all throws(MQTTDecodingError) in
            let body = all[bodyStart..<(bodyStart + headerBytes + kept)]
            var reader = ByteReader(bytes: UnsafeBufferPointer(rebasing: body))
            let topic = try reader.readTopicName(recent: &recentTopics)
            let packetID = qos == .atMostOnce ? nil : try reader.readPacketID()
            return OversizedPublish(topic: topic, qos: qos, dup: flags & 0x08 != 0, packetID: packetID,
                                    payloadPrefix: Array(reader.rest()), payloadSize: length - headerBytes)
        }
        // Drop what is buffered of this packet; discard the rest as it arrives.
        let buffered = min(available, length)
        skipping = length - buffered
        start += headerSize + buffered
        return .oversizedPublish(packet)
    }

    static func qos(fromFlags flags: UInt8) throws(MQTTDecodingError) -> QoS {
        guard let qos = QoS(rawValue: (flags >> 1) & 0x03) else { throw MQTTDecodingError("PUBLISH with QoS 3") }
        return qos
    }

    static func decode(kind: Packet.Kind, flags: UInt8, body: inout ByteReader,
                       topics: inout RecentTopics) throws(MQTTDecodingError) -> Packet {
        func requireFlags(_ expected: UInt8) throws(MQTTDecodingError) {
            guard flags == expected else { throw MQTTDecodingError("\(kind) with reserved flags \(flags)") }
        }
        func requireEnd() throws(MQTTDecodingError) {
            guard body.isAtEnd else { throw MQTTDecodingError("\(kind) longer than its contents") }
        }
        switch kind {
        case .connect:
            try requireFlags(0)
            guard try body.readString() == "MQTT", try body.readByte() == 4 else {
                throw MQTTDecodingError("CONNECT for a protocol other than MQTT 3.1.1")
            }
            let connectFlags = try body.readByte()
            guard connectFlags & 0x01 == 0 else { throw MQTTDecodingError("CONNECT reserved flag set") }
            guard connectFlags & 0x3C == 0 else { throw MQTTDecodingError("CONNECT with a will is not supported") }
            let keepAlive = try body.readUInt16()
            let clientID = try body.readString()
            let username = connectFlags & 0x80 != 0 ? try body.readString() : nil
            let password = connectFlags & 0x40 != 0 ? try body.readBinary() : nil
            try requireEnd()
            return .connect(ConnectPacket(clientID: clientID, username: username, password: password,
                                          keepAliveSeconds: keepAlive, cleanSession: connectFlags & 0x02 != 0))
        case .connAck:
            try requireFlags(0)
            let acknowledgeFlags = try body.readByte()
            guard acknowledgeFlags & 0xFE == 0 else { throw MQTTDecodingError("CONNACK reserved flags set") }
            let code = try body.readByte()
            guard let returnCode = ConnAckPacket.ReturnCode(rawValue: code) else {
                throw MQTTDecodingError("CONNACK return code \(code)")
            }
            try requireEnd()
            return .connAck(ConnAckPacket(sessionPresent: acknowledgeFlags == 1, returnCode: returnCode))
        case .publish:
            let qos = try qos(fromFlags: flags)
            let topic = try body.readTopicName(recent: &topics)
            let packetID = qos == .atMostOnce ? nil : try body.readPacketID()
            return .publish(PublishPacket(topic: topic, payload: Array(body.rest()), qos: qos,
                                          retain: flags & 0x01 != 0, dup: flags & 0x08 != 0, packetID: packetID))
        case .pubAck, .unsubAck:
            try requireFlags(0)
            let packetID = try body.readPacketID()
            try requireEnd()
            return kind == .pubAck ? .pubAck(packetID: packetID) : .unsubAck(packetID: packetID)
        case .subscribe:
            try requireFlags(0x02)
            let packetID = try body.readPacketID()
            var subscriptions: [Subscription] = []
            while !body.isAtEnd {
                let filter = try body.readString()
                let requested = try body.readByte()
                guard requested & 0xFC == 0, let qos = QoS(rawValue: requested) else {
                    throw MQTTDecodingError("SUBSCRIBE with requested QoS byte \(requested)")
                }
                subscriptions.append(Subscription(filter: filter, qos: qos))
            }
            guard !subscriptions.isEmpty else { throw MQTTDecodingError("SUBSCRIBE without filters") }
            return .subscribe(SubscribePacket(packetID: packetID, subscriptions: subscriptions))
        case .subAck:
            try requireFlags(0)
            let packetID = try body.readPacketID()
            let codes = Array(body.rest())
            guard !codes.isEmpty, codes.allSatisfy({ $0 <= 2 || $0 == SubAckPacket.failure }) else {
                throw MQTTDecodingError("SUBACK return codes \(codes)")
            }
            return .subAck(SubAckPacket(packetID: packetID, returnCodes: codes))
        case .unsubscribe:
            try requireFlags(0x02)
            let packetID = try body.readPacketID()
            var filters: [String] = []
            while !body.isAtEnd { filters.append(try body.readString()) }
            guard !filters.isEmpty else { throw MQTTDecodingError("UNSUBSCRIBE without filters") }
            return .unsubscribe(UnsubscribePacket(packetID: packetID, filters: filters))
        case .pingReq, .pingResp, .disconnect:
            try requireFlags(0)
            try requireEnd()
            return kind == .pingReq ? .pingReq : kind == .pingResp ? .pingResp : .disconnect
        case .pubRec, .pubRel, .pubComp:
            throw MQTTDecodingError("\(kind): QoS 2 is not supported")
        }
    }
}

/// Reads MQTT fields from a packet body; every read checks the bounds.
struct ByteReader {
    let bytes: UnsafeBufferPointer<UInt8>
    var position = 0

    var isAtEnd: Bool { position == bytes.count }

    mutating func readByte() throws(MQTTDecodingError) -> UInt8 {
        guard position < bytes.count else { throw MQTTDecodingError("packet ends early") }
        defer { position += 1 }
        return bytes[position]
    }

    mutating func readUInt16() throws(MQTTDecodingError) -> UInt16 {
        let high = try readByte(), low = try readByte()
        return UInt16(high) << 8 | UInt16(low)
    }

    mutating func readPacketID() throws(MQTTDecodingError) -> UInt16 {
        let id = try readUInt16()
        guard id != 0 else { throw MQTTDecodingError("packet identifier 0") }
        return id
    }

    mutating func readBinary() throws(MQTTDecodingError) -> [UInt8] {
        let count = Int(try readUInt16())
        guard bytes.count - position >= count else { throw MQTTDecodingError("string longer than the packet") }
        defer { position += count }
        return Array(bytes[position..<(position + count)])
    }

    /// A UTF-8 string (§1.5.3): well-formed, without U+0000.
    mutating func readString() throws(MQTTDecodingError) -> String {
        try Self.text(try readBinary())
    }

    /// A topic name (§4.7): a non-empty string without wildcards (looked for in its bytes); one of the `recent`
    /// ones when its bytes are.
    mutating func readTopicName(recent: inout RecentTopics) throws(MQTTDecodingError) -> String {
        let count = Int(try readUInt16())
        guard bytes.count - position >= count else { throw MQTTDecodingError("string longer than the packet") }
        let raw = UnsafeBufferPointer(rebasing: bytes[position..<(position + count)])
        position += count
        if let topic = recent.topic(for: raw) { return topic }
        let topic = try Self.text(Array(raw))
        guard !raw.isEmpty, !raw.contains(where: { $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "#") })
        else { throw MQTTDecodingError("topic name \"\(topic.prefix(64))\" is empty or has wildcards") }
        recent.remember(topic, bytes: raw)
        return topic
    }

    private static func text(_ raw: [UInt8]) throws(MQTTDecodingError) -> String {
        guard !raw.contains(0), let text = String(validating: raw, as: UTF8.self) else {
            throw MQTTDecodingError("string is not well-formed UTF-8")
        }
        return text
    }

    mutating func rest() -> UnsafeBufferPointer<UInt8> {
        defer { position = bytes.count }
        return UnsafeBufferPointer(rebasing: bytes[position...])
    }
}
