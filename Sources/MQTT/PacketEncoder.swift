/// Encodes packets into their wire bytes (MQTT 3.1.1 §2–3).
public enum PacketEncoder {
    /// The largest remaining length four bytes can carry (§2.2.3).
    public static let maximumRemainingLength = 268_435_455

    /// Appends the packet's bytes to `output`; a PUBACK (one per message a subscriber takes) without building an
    /// array of its own.
    public static func encode(_ packet: Packet, into output: inout [UInt8]) {
        guard case .pubAck(let packetID) = packet else { return output.append(contentsOf: encode(packet)) }
        output.append(Packet.Kind.pubAck.rawValue << 4)
        output.append(2)
        output.append(UInt8(packetID >> 8))
        output.append(UInt8(packetID & 0xFF))
    }

    public static func encode(_ packet: Packet) -> [UInt8] {
        var body: [UInt8] = []
        let header: UInt8
        switch packet {
        case .connect(let connect):
            header = Packet.Kind.connect.rawValue << 4
            appendString("MQTT", to: &body)
            body.append(4) // protocol level 3.1.1
            var flags: UInt8 = connect.cleanSession ? 0x02 : 0
            if connect.username != nil { flags |= 0x80 }
            if connect.password != nil { flags |= 0x40 }
            body.append(flags)
            appendUInt16(connect.keepAliveSeconds, to: &body)
            appendString(connect.clientID, to: &body)
            if let username = connect.username { appendString(username, to: &body) }
            if let password = connect.password { appendBinary(password, to: &body) }
        case .connAck(let connAck):
            header = Packet.Kind.connAck.rawValue << 4
            body = [connAck.sessionPresent ? 1 : 0, connAck.returnCode.rawValue]
        case .publish(let publish):
            header = Packet.Kind.publish.rawValue << 4 | (publish.dup ? 0x08 : 0) | publish.qos.rawValue << 1
                | (publish.retain ? 0x01 : 0)
            appendString(publish.topic, to: &body)
            if publish.qos != .atMostOnce { appendUInt16(publish.packetID ?? 0, to: &body) }
            body.append(contentsOf: publish.payload)
        case .pubAck(let packetID):
            header = Packet.Kind.pubAck.rawValue << 4
            appendUInt16(packetID, to: &body)
        case .subscribe(let subscribe):
            header = Packet.Kind.subscribe.rawValue << 4 | 0x02
            appendUInt16(subscribe.packetID, to: &body)
            for subscription in subscribe.subscriptions {
                appendString(subscription.filter, to: &body)
                body.append(subscription.qos.rawValue)
            }
        case .subAck(let subAck):
            header = Packet.Kind.subAck.rawValue << 4
            appendUInt16(subAck.packetID, to: &body)
            body.append(contentsOf: subAck.returnCodes)
        case .unsubscribe(let unsubscribe):
            header = Packet.Kind.unsubscribe.rawValue << 4 | 0x02
            appendUInt16(unsubscribe.packetID, to: &body)
            for filter in unsubscribe.filters { appendString(filter, to: &body) }
        case .unsubAck(let packetID):
            header = Packet.Kind.unsubAck.rawValue << 4
            appendUInt16(packetID, to: &body)
        case .pingReq:
            header = Packet.Kind.pingReq.rawValue << 4
        case .pingResp:
            header = Packet.Kind.pingResp.rawValue << 4
        case .disconnect:
            header = Packet.Kind.disconnect.rawValue << 4
        case .oversizedPublish:
            preconditionFailure("an oversized publish is a decoding outcome, not a packet to send")
        }
        var bytes: [UInt8] = [header]
        bytes.reserveCapacity(body.count + 5)
        appendRemainingLength(body.count, to: &bytes)
        bytes.append(contentsOf: body)
        return bytes
    }

    /// The variable-length encoding of the remaining length (§2.2.3).
    public static func appendRemainingLength(_ length: Int, to bytes: inout [UInt8]) {
        precondition(length >= 0 && length <= maximumRemainingLength, "remaining length out of range")
        var value = length
        repeat {
            var byte = UInt8(value % 128)
            value /= 128
            if value > 0 { byte |= 0x80 }
            bytes.append(byte)
        } while value > 0
    }

    static func appendUInt16(_ value: UInt16, to bytes: inout [UInt8]) {
        bytes.append(UInt8(value >> 8))
        bytes.append(UInt8(value & 0xFF))
    }

    static func appendString(_ text: String, to bytes: inout [UInt8]) {
        appendBinary(Array(text.utf8), to: &bytes)
    }

    static func appendBinary(_ data: [UInt8], to bytes: inout [UInt8]) {
        precondition(data.count <= 65_535, "MQTT strings are at most 65535 bytes")
        appendUInt16(UInt16(data.count), to: &bytes)
        bytes.append(contentsOf: data)
    }
}
