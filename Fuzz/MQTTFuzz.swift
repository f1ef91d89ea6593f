// fuzz target `mqtt`: the bytes a broker sends, through PacketDecoder and a ClientSession.
// Oracles: the decoder yields the same packets (and the same error) whether the bytes arrive whole, one at a time
// or in uneven pieces; every decoded packet re-encodes and decodes to itself; every packet the session sends
// encodes (PacketEncoder's preconditions hold) and decodes back to itself.
@testable import MQTT
import Glibc

/// Small, so that oversized PUBLISHes (skipped, not buffered) are reached by small inputs.
let maximumPacketSize = 1024

func check(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition {
        let text = "fuzz check failed: \(message())\n"
        _ = text.withCString { write(2, $0, strlen($0)) }
        abort()
    }
}

/// Feeds `bytes` in pieces ending at `cuts` and returns the packets decoded and the error that ended the stream.
func decode(_ bytes: UnsafeBufferPointer<UInt8>, cuts: [Int]) -> (packets: [Packet], error: MQTTDecodingError?) {
    var decoder = PacketDecoder(maximumPacketSize: maximumPacketSize)
    var packets: [Packet] = []
    var start = 0
    for cut in cuts + [bytes.count] where cut >= start {
        decoder.append(UnsafeBufferPointer(rebasing: bytes[start..<cut]))
        start = cut
        do {
            while let packet = try decoder.next() { packets.append(packet) }
        } catch {
            return (packets, error)
        }
    }
    return (packets, nil)
}

func roundTrip(_ packet: Packet) {
    let bytes = PacketEncoder.encode(packet)
    var decoder = PacketDecoder(maximumPacketSize: 1 << 20)
    decoder.append(bytes)
    let again = try? decoder.next()
    check(again == packet, "\(packet) encodes to \(bytes.prefix(64)) which decodes to \(String(describing: again))")
    check(decoder.bufferedCount == 0, "\(packet) encodes to more than one packet")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafeRawPointer, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data.assumingMemoryBound(to: UInt8.self), count: size)

    let whole = decode(bytes, cuts: [])
    // One byte at a time (short inputs only: a byte costs microseconds here), and in uneven pieces chosen by the
    // content itself (FNV-1a), so that a reproducer replays the same split; long inputs get about 64 pieces.
    let byteAtATime = size <= 4096 ? [decode(bytes, cuts: Array(0..<size))] : []
    let spacing = UInt64(max(7, size / 64))
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    var cuts: [Int] = []
    for (index, byte) in bytes.enumerated() {
        hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        if hash % spacing == 0 { cuts.append(index) }
    }
    let pieces = decode(bytes, cuts: cuts)
    for other in byteAtATime + [pieces] {
        check(other.packets == whole.packets, "split feeding decodes \(other.packets.count) packets, whole "
              + "\(whole.packets.count)")
        check(other.error == whole.error, "split feeding ends with \(String(describing: other.error)), whole with "
              + "\(String(describing: whole.error))")
    }
    for packet in whole.packets {
        if case .oversizedPublish = packet { continue }
        roundTrip(packet)
    }

    // The session: connect, feed every decoded packet, acknowledge QoS 1 deliveries, let time pass.
    let filters = ["$thing/up/property/+/+", "$thing/up/event/+/+"]
    var session = ClientSession(options: .init(
        clientID: "CS0SLTKSYAfuzz", username: "fuzz", password: Array("secret".utf8), keepAliveSeconds: 30,
        cleanSession: false, subscriptions: filters.map { Subscription(filter: $0, qos: .atLeastOnce) }))
    var now: Int64 = 1_764_000_000_000
    var pending = session.connectionOpened(now: now)
    pending.append(session.publish(topic: "$thing/down/property/CS0SLTKSYA/dev1", payload: [0x7B, 0x7D],
                                   qos: .atLeastOnce, now: now))
    var failed = false
    func handle(_ actions: [ClientSession.Action]) {
        var queue = actions
        while !queue.isEmpty {
            switch queue.removeFirst() {
            case .send(let packet):
                roundTrip(packet)
            case .deliver(let publish):
                for filter in filters { _ = TopicFilter.matches(filter, topic: publish.topic) }
                if publish.qos == .atLeastOnce, let packetID = publish.packetID {
                    queue.append(session.acknowledge(packetID: packetID, now: now))
                }
            case .deliverOversized(let publish):
                if publish.qos == .atLeastOnce, let packetID = publish.packetID {
                    queue.append(session.acknowledge(packetID: packetID, now: now))
                }
            case .close:
                session.connectionClosed()
                now += 5_000
                queue.append(contentsOf: session.connectionOpened(now: now))
            case .fail:
                failed = true
                return
            case .ready, .published, .downgraded:
                break
            }
        }
    }
    handle(pending)
    for (index, packet) in whole.packets.enumerated() where !failed {
        if case .subscribe(let subscribe) = packet {
            for subscription in subscribe.subscriptions where TopicFilter.isValid(subscription.filter) {
                _ = TopicFilter.matches(subscription.filter, topic: "$thing/up/property/CS0SLTKSYA/dev1")
            }
        }
        handle(session.received(packet, now: now))
        if index % 3 == 0, !failed {
            handle([session.publish(topic: "$thing/down/property/CS0SLTKSYA/dev1", payload: [],
                                    qos: .atLeastOnce, now: now)])
        }
        now += Int64(index % 5) * 4_000
        if !failed { handle(session.tick(now: now)) }
        if !failed, let deadline = session.nextDeadline() {
            now = max(now, deadline)
            handle(session.tick(now: now))
        }
    }
    return 0
}
