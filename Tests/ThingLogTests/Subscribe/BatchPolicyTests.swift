import Testing
@testable import ThingLogCore
@testable import ThingLogStore
@testable import ThingLogSubscribe

/// The subscriber's batch and acknowledgement rules, without a socket or a clock.
@Suite struct BatchPolicyTests {
    let entry = StoreEntry.rejected(Rejection(reason: .notJSON, detail: "", topic: nil, receivedAt: 0, bytes: []))

    func done(_ batch: BatchCommitter.Batch) -> BatchCommitter.Done {
        BatchCommitter.Done(token: batch.token, summary: AppendSummary(), committedAt: 0, seconds: 0)
    }

    @Test func aBatchClosesWhenFullOldDrainedOrAtTheLimit() {
        var policy = BatchPolicy(maximumBatch: 3, maximumAgeMilliseconds: 25)
        policy.connected()
        #expect(policy.batchToClose(drained: true, atMessageLimit: true, now: 0) == nil, "nothing to close")
        #expect(policy.pollTimeout(now: 0) == 1_000)
        policy.add(entry, packetID: 1, now: 100)
        policy.add(entry, packetID: 2, now: 110)
        #expect(policy.pollTimeout(now: 110) == 15, "until the batch is due")
        #expect(policy.batchToClose(drained: false, atMessageLimit: false, now: 124) == nil)
        #expect(policy.batchToClose(drained: false, atMessageLimit: false, now: 125)?.token.packetIDs == [1, 2], "old")
        for id in 3...5 { policy.add(entry, packetID: UInt16(id), now: 200) }
        #expect(policy.batchToClose(drained: false, atMessageLimit: false, now: 200)?.token.packetIDs == [3, 4, 5],
                "full")
        policy.add(entry, packetID: 6, now: 300)
        #expect(policy.batchToClose(drained: true, atMessageLimit: false, now: 300)?.token.packetIDs == [6], "drained")
        policy.add(entry, packetID: nil, now: 400)
        let limited = policy.batchToClose(drained: false, atMessageLimit: true, now: 400)
        #expect(limited?.entries.count == 1 && limited?.token.packetIDs == [], "QoS 0: nothing to acknowledge")
        #expect(policy.closeNow() == nil)
    }

    @Test func acknowledgementsNeverGoToALaterConnection() {
        var policy = BatchPolicy(maximumBatch: 500, maximumAgeMilliseconds: 25)
        policy.connected()
        policy.add(entry, packetID: 7, now: 0)
        policy.add(entry, packetID: 8, now: 1)
        let first = policy.closeNow()
        // The connection drops before the COMMIT finishes; a new one comes up; messages arrive on it.
        policy.connected()
        policy.add(entry, packetID: 7, now: 50)
        let second = policy.closeNow()
        guard let first, let second else {
            Issue.record("both batches should close")
            return
        }
        #expect(first.token.connection == 1 && second.token.connection == 2)
        #expect(policy.acknowledgements(for: [done(first), done(second)], isConnected: true) == [7],
                "only the redelivered copy's id, on its own connection")
        #expect(policy.acknowledgements(for: [done(second)], isConnected: false) == [], "nothing while disconnected")
    }

    @Test func aBatchBelongsToTheConnectionItsFirstMessageCameOn() {
        var policy = BatchPolicy(maximumBatch: 500, maximumAgeMilliseconds: 25)
        policy.connected()
        #expect(policy.closeNow() == nil)
        policy.connected()
        policy.add(entry, packetID: 1, now: 0)
        #expect(policy.closeNow()?.token.connection == 2)
    }
}
