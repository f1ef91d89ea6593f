import Testing
@testable import MQTT

@Suite struct PacketCodecTests {
    static let samples: [Packet] = [
        .connect(ConnectPacket(clientID: "thinglog", username: "user", password: Array("pass".utf8),
                               keepAliveSeconds: 60, cleanSession: false)),
        .connect(ConnectPacket(clientID: "", keepAliveSeconds: 0, cleanSession: true)),
        .connAck(ConnAckPacket(sessionPresent: true, returnCode: .accepted)),
        .connAck(ConnAckPacket(sessionPresent: false, returnCode: .notAuthorized)),
        .publish(PublishPacket(topic: "$thing/up/property/P/d", payload: Array("{}".utf8))),
        .publish(PublishPacket(topic: "a/b", payload: [], qos: .atLeastOnce, retain: true, dup: true, packetID: 65535)),
        .publish(PublishPacket(topic: "é/中", payload: [0, 255, 128], qos: .atLeastOnce, packetID: 1)),
        .pubAck(packetID: 7),
        .subscribe(SubscribePacket(packetID: 2, subscriptions: [
            Subscription(filter: "$thing/up/property/+/+", qos: .atLeastOnce),
            Subscription(filter: "#", qos: .atMostOnce),
        ])),
        .subAck(SubAckPacket(packetID: 2, returnCodes: [1, 0x80, 0])),
        .unsubscribe(UnsubscribePacket(packetID: 3, filters: ["a/#", "b"])),
        .unsubAck(packetID: 3),
        .pingReq, .pingResp, .disconnect,
    ]

    func decodeAll(_ chunks: [[UInt8]], maximumPacketSize: Int = 1 << 20) throws -> [Packet] {
        var decoder = PacketDecoder(maximumPacketSize: maximumPacketSize)
        var packets: [Packet] = []
        for chunk in chunks {
            decoder.append(chunk)
            while let packet = try decoder.next() { packets.append(packet) }
        }
        #expect(decoder.bufferedCount == 0)
        return packets
    }

    @Test func goldenBytes() {
        #expect(PacketEncoder.encode(.connect(ConnectPacket(clientID: "c", username: "u", password: [0x70],
                                                            keepAliveSeconds: 60, cleanSession: true)))
                == [0x10, 19, 0, 4, 0x4D, 0x51, 0x54, 0x54, 4, 0xC2, 0, 60, 0, 1, 0x63, 0, 1, 0x75, 0, 1, 0x70])
        #expect(PacketEncoder.encode(.connAck(ConnAckPacket(sessionPresent: true, returnCode: .accepted)))
                == [0x20, 2, 1, 0])
        #expect(PacketEncoder.encode(.publish(PublishPacket(topic: "a/b", payload: [0x68, 0x69], qos: .atLeastOnce,
                                                            dup: true, packetID: 10)))
                == [0x3A, 9, 0, 3, 0x61, 0x2F, 0x62, 0, 10, 0x68, 0x69])
        #expect(PacketEncoder.encode(.publish(PublishPacket(topic: "t", payload: [1], retain: true)))
                == [0x31, 4, 0, 1, 0x74, 1])
        #expect(PacketEncoder.encode(.pubAck(packetID: 0x1234)) == [0x40, 2, 0x12, 0x34])
        // Appending to what is already queued gives the same bytes, for every kind of packet.
        var queued: [UInt8] = [0xEE]
        for packet in Self.samples { PacketEncoder.encode(packet, into: &queued) }
        #expect(queued == [0xEE] + Self.samples.flatMap { PacketEncoder.encode($0) })
        #expect(PacketEncoder.encode(.subscribe(SubscribePacket(packetID: 1, subscriptions: [
            Subscription(filter: "a/+", qos: .atLeastOnce)]))) == [0x82, 8, 0, 1, 0, 3, 0x61, 0x2F, 0x2B, 1])
        #expect(PacketEncoder.encode(.subAck(SubAckPacket(packetID: 1, returnCodes: [1, 0x80])))
                == [0x90, 4, 0, 1, 1, 0x80])
        #expect(PacketEncoder.encode(.unsubscribe(UnsubscribePacket(packetID: 5, filters: ["x"])))
                == [0xA2, 5, 0, 5, 0, 1, 0x78])
        #expect(PacketEncoder.encode(.unsubAck(packetID: 5)) == [0xB0, 2, 0, 5])
        #expect(PacketEncoder.encode(.pingReq) == [0xC0, 0])
        #expect(PacketEncoder.encode(.pingResp) == [0xD0, 0])
        #expect(PacketEncoder.encode(.disconnect) == [0xE0, 0])
    }

    @Test(arguments: [(0, [0x00]), (127, [0x7F]), (128, [0x80, 0x01]), (16_383, [0xFF, 0x7F]),
                      (16_384, [0x80, 0x80, 0x01]), (2_097_151, [0xFF, 0xFF, 0x7F]),
                      (2_097_152, [0x80, 0x80, 0x80, 0x01]),
                      (268_435_455, [0xFF, 0xFF, 0xFF, 0x7F])] as [(Int, [UInt8])])
    func remainingLengthBoundaries(_ length: Int, _ expected: [UInt8]) throws {
        var bytes: [UInt8] = []
        PacketEncoder.appendRemainingLength(length, to: &bytes)
        #expect(bytes == expected)
        guard length <= 20_000 else { return }
        // A PUBLISH with exactly this remaining length decodes back.
        let topic = "t"
        let payload = [UInt8](repeating: 0x41, count: max(0, length - 3))
        if length >= 3 {
            let packet = Packet.publish(PublishPacket(topic: topic, payload: payload))
            let encoded = PacketEncoder.encode(packet)
            #expect(Array(encoded[1..<(1 + expected.count)]) == expected)
            #expect(try decodeAll([encoded]) == [packet])
        }
    }

    @Test func fiveByteRemainingLengthIsRejected() {
        var decoder = PacketDecoder()
        decoder.append([0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0x00])
        #expect(throws: MQTTDecodingError.self) { try decoder.next() }
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func roundTripsWholeSplitAndByteByByte(seed: UInt64) throws {
        let stream = Self.samples.flatMap(PacketEncoder.encode)
        #expect(try decodeAll([stream]) == Self.samples)
        #expect(try decodeAll(stream.map { [$0] }) == Self.samples)
        for split in 0...stream.count {
            #expect(try decodeAll([Array(stream[..<split]), Array(stream[split...])]) == Self.samples)
        }
        var random = SplitMix64(seed: seed)
        for _ in 0..<50 {
            var chunks: [[UInt8]] = []
            var index = 0
            while index < stream.count {
                let size = Int.random(in: 1...17, using: &random)
                chunks.append(Array(stream[index..<min(index + size, stream.count)]))
                index += size
            }
            #expect(try decodeAll(chunks) == Self.samples, "seed \(seed)")
        }
    }

    @Test func incompleteInputIsNotConsumed() throws {
        let encoded = PacketEncoder.encode(.publish(PublishPacket(topic: "a", payload: [1, 2, 3])))
        var decoder = PacketDecoder()
        decoder.append(encoded.dropLast())
        #expect(try decoder.next() == nil)
        #expect(decoder.bufferedCount == encoded.count - 1)
        decoder.append([encoded.last!])
        #expect(try decoder.next() != nil)
    }

    @Test(arguments: [
        [0x00, 0x00], [0xF0, 0x00],                      // reserved packet types
        [0x36, 0x05, 0, 1, 0x61, 0, 1],                  // QoS 3
        [0x32, 0x05, 0, 1, 0x61, 0, 0],                  // packet identifier 0
        [0x30, 0x03, 0, 1, 0x2B],                        // wildcard in a topic name
        [0x30, 0x02, 0, 0],                              // empty topic name
        [0x30, 0x04, 0, 2, 0xC3, 0x28],                  // topic not UTF-8
        [0x30, 0x03, 0, 5, 0x61],                        // string longer than the packet
        [0x20, 0x02, 0x02, 0x00],                        // CONNACK reserved flag
        [0x20, 0x02, 0x00, 0x06],                        // CONNACK return code 6
        [0x20, 0x03, 0x00, 0x00, 0x00],                  // CONNACK too long
        [0x41, 0x02, 0x00, 0x01],                        // PUBACK with flags
        [0x90, 0x03, 0x00, 0x01, 0x03],                  // SUBACK code 3
        [0x90, 0x02, 0x00, 0x01],                        // SUBACK without codes
        [0x80, 0x06, 0, 1, 0, 1, 0x61, 1],               // SUBSCRIBE without its 0010 flags
        [0xC0, 0x01, 0x00],                              // PINGREQ with a body
        [0x50, 0x02, 0x00, 0x01],                        // PUBREC: QoS 2 unsupported
    ] as [[UInt8]])
    func malformedPacketsThrow(_ bytes: [UInt8]) {
        var decoder = PacketDecoder()
        decoder.append(bytes)
        #expect(throws: MQTTDecodingError.self) { try decoder.next() }
    }

    /// Topics repeat, and the decoder hands out the one it checked before: only when every byte is the same.
    @Test func aRepeatedTopicIsTheSameTopicAndOnlyThen() throws {
        // Same length and last eight bytes (one slot of the decoder's table), other lengths, short ones.
        let topics = ["$thing/up/property/P/device12", "$thing/up/property/Q/device12",
                      "$thing/up/property/P/device12", "x/device12", "$thing/up/property/P/device13",
                      "$thing/up/property/P/device12", "é/device12", "a", "b", "a"]
        let packets = try decodeAll([topics.flatMap { topic in
            PacketEncoder.encode(.publish(PublishPacket(topic: topic, payload: Array(topic.utf8))))
        }])
        let publishes = packets.compactMap { packet -> PublishPacket? in
            guard case .publish(let publish) = packet else { return nil }
            return publish
        }
        #expect(publishes.map(\.topic) == topics)
        #expect(publishes.allSatisfy { $0.payload == Array($0.topic.utf8) })
        // A topic with a wildcard or a NUL is refused even when a valid one of the same length and ending came first.
        for bad in ["$thing/up/property/+/device12", "$thing/up/property/\u{0}/device12"] {
            var decoder = PacketDecoder()
            decoder.append(PacketEncoder.encode(.publish(PublishPacket(topic: "$thing/up/property/P/device12",
                                                                      payload: []))))
            #expect(try decoder.next() != nil)
            decoder.append(PacketEncoder.encode(.publish(PublishPacket(topic: bad, payload: []))))
            #expect(throws: MQTTDecodingError.self) { try decoder.next() }
        }
    }

    /// Random input, reproducible: a crash names its test case, whose argument is the seed.
    @Test(arguments: [11, 12] as [UInt64])
    func randomBytesNeverCrash(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        for _ in 0..<20_000 {
            let count = Int.random(in: 0...40, using: &random)
            var bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &random) }
            if !bytes.isEmpty, Bool.random(using: &random) {
                bytes[0] = [0x20, 0x30, 0x32, 0x40, 0x90, 0xD0][Int.random(in: 0...5, using: &random)]
            }
            var decoder = PacketDecoder(maximumPacketSize: 64)
            decoder.append(bytes)
            for _ in 0..<8 { guard (try? decoder.next()) != nil else { break } }
        }
    }

    @Test func oversizedPublishIsSkippedAndTheStreamGoesOn() throws {
        let big = PublishPacket(topic: "$thing/up/property/P/d", payload: [UInt8](repeating: 0x7A, count: 100_000),
                                qos: .atLeastOnce, dup: true, packetID: 9)
        let after = Packet.publish(PublishPacket(topic: "x", payload: [1], qos: .atLeastOnce, packetID: 10))
        let stream = PacketEncoder.encode(.publish(big)) + PacketEncoder.encode(after)
        for chunkSize in [1_000, 7, 200_000] {
            var chunks: [[UInt8]] = []
            var index = 0
            while index < stream.count {
                chunks.append(Array(stream[index..<min(index + chunkSize, stream.count)]))
                index += chunkSize
            }
            let packets = try decodeAll(chunks, maximumPacketSize: 1_000)
            #expect(packets.count == 2)
            guard case .oversizedPublish(let oversized) = packets[0] else {
                Issue.record("expected an oversized publish")
                continue
            }
            #expect(oversized.topic == big.topic && oversized.packetID == 9 && oversized.dup)
            #expect(oversized.payloadSize == 100_000)
            #expect(oversized.payloadPrefix == [UInt8](repeating: 0x7A, count: 65_536))
            #expect(packets[1] == after)
        }
    }

    @Test func oversizedPacketsOtherThanPublishAreErrors() {
        var decoder = PacketDecoder(maximumPacketSize: 10)
        let codes = [UInt8](repeating: 0, count: 20)
        decoder.append(PacketEncoder.encode(.subAck(SubAckPacket(packetID: 1, returnCodes: codes))))
        #expect(throws: MQTTDecodingError.self) { try decoder.next() }
    }
}

@Suite struct TopicFilterTests {
    @Test func validity() {
        for filter in ["a/b", "+", "#", "a/+/c", "a/#", "$thing/up/property/+/+", "$share/g/$thing/#", "/", "a//b"] {
            #expect(TopicFilter.isValid(filter), "\(filter)")
        }
        for filter in ["", "a/#/b", "a#", "a/b+", "$share/g", "$share//a", "$share/g+/a", "a/\u{0}"] {
            #expect(!TopicFilter.isValid(filter), "\(filter)")
        }
    }

    @Test func matching() {
        #expect(TopicFilter.matches("$thing/up/property/+/+", topic: "$thing/up/property/P/dev1"))
        #expect(!TopicFilter.matches("$thing/up/property/+/+", topic: "$thing/up/property/P/dev1/x"))
        #expect(TopicFilter.matches("$thing/#", topic: "$thing/up/event/P/d"))
        #expect(!TopicFilter.matches("#", topic: "$thing/up/property/P/d"))
        #expect(!TopicFilter.matches("+/up/property/P/d", topic: "$thing/up/property/P/d"))
        #expect(TopicFilter.matches("a/#", topic: "a"))
        #expect(TopicFilter.matches("a/+", topic: "a/"))
    }
}

/// SplitMix64: a small seeded generator, so every randomized test can be rerun with its seed.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
