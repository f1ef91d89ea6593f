import Testing
@testable import MQTT

@Suite struct ClientSessionTests {
    let subscriptions = [Subscription(filter: "$thing/up/property/+/+", qos: .atLeastOnce),
                         Subscription(filter: "$thing/up/event/+/+", qos: .atLeastOnce)]

    func makeSession(keepAlive: UInt16 = 60, cleanSession: Bool = false) -> ClientSession {
        ClientSession(options: .init(clientID: "c1", username: "u", password: [1], keepAliveSeconds: keepAlive,
                                     cleanSession: cleanSession, subscriptions: subscriptions,
                                     responseTimeoutMilliseconds: 5_000))
    }

    /// Connects and subscribes, returning the ready session.
    func readySession() -> ClientSession {
        var session = makeSession()
        _ = session.connectionOpened(now: 0)
        _ = session.received(.connAck(ConnAckPacket(sessionPresent: false, returnCode: .accepted)), now: 10)
        _ = session.received(.subAck(SubAckPacket(packetID: 2, returnCodes: [1, 1])), now: 20)
        return session
    }

    @Test func connectSubscribeReady() {
        var session = makeSession()
        #expect(session.connectionOpened(now: 0) == [.send(.connect(ConnectPacket(
            clientID: "c1", username: "u", password: [1], keepAliveSeconds: 60, cleanSession: false)))])
        #expect(session.received(.connAck(ConnAckPacket(sessionPresent: false, returnCode: .accepted)), now: 10)
                == [.send(.subscribe(SubscribePacket(packetID: 2, subscriptions: subscriptions)))])
        #expect(session.received(.subAck(SubAckPacket(packetID: 2, returnCodes: [1, 1])), now: 20)
                == [.ready(sessionPresent: false)])
        #expect(session.state == .ready)
    }

    @Test func refusedFilterIsAFailureNamingIt() {
        var session = makeSession()
        _ = session.connectionOpened(now: 0)
        _ = session.received(.connAck(ConnAckPacket(sessionPresent: false, returnCode: .accepted)), now: 10)
        #expect(session.received(.subAck(SubAckPacket(packetID: 2, returnCodes: [1, 0x80])), now: 20)
                == [.fail(.subscriptionRefused(filter: "$thing/up/event/+/+"))])
    }

    @Test func subAckIsCheckedFilterByFilter() {
        func subscribed(_ codes: [UInt8]) -> [ClientSession.Action] {
            var session = makeSession()
            _ = session.connectionOpened(now: 0)
            _ = session.received(.connAck(ConnAckPacket(sessionPresent: false, returnCode: .accepted)), now: 10)
            return session.received(.subAck(SubAckPacket(packetID: 2, returnCodes: codes)), now: 20)
        }
        #expect(subscribed([0, 1]) == [.downgraded(filter: "$thing/up/property/+/+", granted: .atMostOnce),
                                        .ready(sessionPresent: false)])
        #expect(subscribed([0x80, 1]) == [.fail(.subscriptionRefused(filter: "$thing/up/property/+/+"))])
        for codes: [UInt8] in [[1], [1, 1, 1], [1, 2], [1, 3], [7, 1]] {
            guard case .close? = subscribed(codes).first else {
                Issue.record("SUBACK \(codes) must close the connection")
                continue
            }
        }
    }

    @Test func aQoS2PublishIsRefusedNeverAcknowledged() {
        var session = readySession()
        let publish = PublishPacket(topic: "$thing/up/property/P/d", payload: [1], qos: .exactlyOnce, packetID: 9)
        let actions = session.received(.publish(publish), now: 30)
        #expect(actions.count == 1)
        guard case .close(let reason)? = actions.first else {
            Issue.record("expected a close, got \(actions)")
            return
        }
        #expect(reason.contains("QoS 2") && reason.contains("$thing/up/property/P/d"))
        let oversized = OversizedPublish(topic: "t", qos: .exactlyOnce, dup: false, packetID: 3, payloadPrefix: [],
                                         payloadSize: 1 << 20)
        guard case .close? = session.received(.oversizedPublish(oversized), now: 31).first else {
            Issue.record("an oversized QoS 2 publish must close too")
            return
        }
    }

    @Test func packetIdentifiersSkipThoseInUseAndTheSearchEnds() {
        var session = readySession()
        var ids = Set<UInt16>()
        for index in 0..<70_000 where session.canPublishAtLeastOnce {
            if case .send(.publish(let publish)) = session.publish(topic: "t", payload: [], qos: .atLeastOnce,
                                                                   now: Int64(index)),
               let id = publish.packetID {
                #expect(id != 0 && ids.insert(id).inserted)
            }
        }
        #expect(ids.count == 65_534 && !session.canPublishAtLeastOnce)
        // One identifier stays free for a SUBSCRIBE after a reconnect; once one is acknowledged, publishing goes on
        // with an identifier not in use.
        let freed = ids.first ?? 1
        _ = session.received(.pubAck(packetID: freed), now: 80_000)
        #expect(session.canPublishAtLeastOnce)
        guard case .send(.publish(let next)) = session.publish(topic: "t", payload: [], qos: .atLeastOnce, now: 80_001)
        else { Issue.record("expected a publish"); return }
        #expect(next.packetID.map { $0 == freed || !ids.contains($0) } == true)
    }

    @Test func refusedConnectionFailsOrRetries() {
        for code in [ConnAckPacket.ReturnCode.badUsernameOrPassword, .notAuthorized, .identifierRejected,
                     .unacceptableProtocolVersion] {
            var session = makeSession()
            _ = session.connectionOpened(now: 0)
            #expect(session.received(.connAck(ConnAckPacket(sessionPresent: false, returnCode: code)), now: 1)
                    == [.fail(.connectionRefused(code))])
        }
        var unavailable = makeSession()
        _ = unavailable.connectionOpened(now: 0)
        #expect(unavailable.received(.connAck(ConnAckPacket(sessionPresent: false, returnCode: .serverUnavailable)),
                                     now: 1) == [.close(reason: "broker unavailable (CONNACK 3)")])
    }

    @Test func resubscribesOnlyWhenTheSessionWasLost() {
        var session = readySession()
        session.connectionClosed()
        _ = session.connectionOpened(now: 100)
        #expect(session.received(.connAck(ConnAckPacket(sessionPresent: true, returnCode: .accepted)), now: 110)
                == [.ready(sessionPresent: true)])
        session.connectionClosed()
        _ = session.connectionOpened(now: 200)
        let actions = session.received(.connAck(ConnAckPacket(sessionPresent: false, returnCode: .accepted)), now: 210)
        guard case .send(.subscribe(let subscribe))? = actions.first else {
            Issue.record("expected SUBSCRIBE, got \(actions)")
            return
        }
        #expect(subscribe.subscriptions == subscriptions)
    }

    @Test func firstConnectionSubscribesEvenWhenTheBrokerKeptASession() {
        var session = makeSession()
        _ = session.connectionOpened(now: 0)
        let actions = session.received(.connAck(ConnAckPacket(sessionPresent: true, returnCode: .accepted)), now: 1)
        #expect(actions.count == 1)
        if case .send(.subscribe) = actions[0] {} else { Issue.record("expected SUBSCRIBE, got \(actions)") }
    }

    @Test func keepAlivePingsWhenIdleAndClosesWhenPingRespIsLate() {
        var session = readySession()
        // The last packet sent was SUBSCRIBE at 10 ms.
        #expect(session.tick(now: 59_000) == [])
        #expect(session.nextDeadline() == 60_010)
        #expect(session.tick(now: 60_010) == [.send(.pingReq)])
        #expect(session.tick(now: 62_000) == [])
        #expect(session.received(.pingResp, now: 62_000) == [])
        #expect(session.tick(now: 120_009) == [])
        #expect(session.tick(now: 120_010) == [.send(.pingReq)])
        #expect(session.tick(now: 125_010) == [])
        #expect(session.tick(now: 125_011) == [.close(reason: "no PINGRESP")])
    }

    @Test func sendingResetsTheKeepAliveTimer() {
        var session = readySession()
        _ = session.acknowledge(packetID: 4, now: 50_000)
        #expect(session.tick(now: 60_010) == [])
        #expect(session.tick(now: 110_000) == [.send(.pingReq)])
    }

    @Test func missingConnAckOrSubAckCloses() {
        var session = makeSession()
        _ = session.connectionOpened(now: 0)
        #expect(session.tick(now: 5_000) == [])
        #expect(session.tick(now: 5_001) == [.close(reason: "no CONNACK")])
        _ = session.received(.connAck(ConnAckPacket(sessionPresent: false, returnCode: .accepted)), now: 6_000)
        #expect(session.tick(now: 11_001) == [.close(reason: "no SUBACK")])
    }

    @Test func deliveriesAndAcknowledgements() {
        var session = readySession()
        let publish = PublishPacket(topic: "$thing/up/property/P/d", payload: [1], qos: .atLeastOnce, dup: true,
                                    packetID: 77)
        #expect(session.received(.publish(publish), now: 30) == [.deliver(publish)])
        #expect(session.acknowledge(packetID: 77, now: 31) == .send(.pubAck(packetID: 77)))
    }

    @Test func unacknowledgedPublishesAreResentWithDupAfterReconnect() {
        var session = makeSession(cleanSession: true)
        _ = session.connectionOpened(now: 0)
        _ = session.received(.connAck(ConnAckPacket(sessionPresent: false, returnCode: .accepted)), now: 1)
        _ = session.received(.subAck(SubAckPacket(packetID: 2, returnCodes: [1, 1])), now: 2)
        let first = session.publish(topic: "t/1", payload: [1], qos: .atLeastOnce, now: 3)
        let second = session.publish(topic: "t/2", payload: [2], qos: .atLeastOnce, now: 4)
        #expect(first == .send(.publish(PublishPacket(topic: "t/1", payload: [1], qos: .atLeastOnce, packetID: 3))))
        #expect(second == .send(.publish(PublishPacket(topic: "t/2", payload: [2], qos: .atLeastOnce, packetID: 4))))
        #expect(session.received(.pubAck(packetID: 3), now: 5) == [.published(packetID: 3)])
        #expect(session.inFlightCount == 1)
        session.connectionClosed()
        _ = session.connectionOpened(now: 10)
        let actions = session.received(.connAck(ConnAckPacket(sessionPresent: true, returnCode: .accepted)), now: 11)
        #expect(actions.contains(.send(.publish(PublishPacket(topic: "t/2", payload: [2], qos: .atLeastOnce, dup: true,
                                                              packetID: 4)))))
    }

    @Test func packetIDsSkipZeroAndOnesInUse() {
        var session = readySession()
        var seen = Set<UInt16>()
        for index in 0..<70_000 {
            guard case .send(.publish(let publish)) = session.publish(topic: "t", payload: [], qos: .atLeastOnce,
                                                                      now: Int64(index)) else { continue }
            let id = publish.packetID ?? 0
            #expect(id != 0)
            if index < 65_535 { #expect(seen.insert(id).inserted) }
            if index >= 100 { _ = session.received(.pubAck(packetID: id), now: Int64(index)) }
        }
    }
}
