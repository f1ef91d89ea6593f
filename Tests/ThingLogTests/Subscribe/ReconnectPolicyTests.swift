import Testing
@testable import ThingLogSubscribe

/// The reconnection rules without a socket or a clock: the draw is fixed, the time is given.
@Suite struct ReconnectPolicyTests {
    @Test func failuresBackOffToTheMaximumWithJitterAndReadyResets() {
        var policy = ReconnectPolicy(first: 500, maximum: 4_000)
        #expect(policy.isDue(now: 0), "the first attempt is at once")
        var waits: [Int64] = []
        var now: Int64 = 0
        for _ in 0..<6 {
            let wait = policy.failed(now: now, draw: { $0.upperBound })
            waits.append(wait)
            #expect(!policy.isDue(now: now + wait - 1) && policy.isDue(now: now + wait))
            now += wait
        }
        #expect(waits == [500, 1_000, 2_000, 4_000, 4_000, 4_000], "doubling up to the maximum")
        var low = policy
        #expect(low.failed(now: now, draw: { $0.lowerBound }) == 2_000, "jitter: at least half the delay")
        policy.ready()
        #expect(policy.failed(now: now, draw: { $0.upperBound }) == 500, "a ready connection resets the delay")
    }

    @Test func aLostConnectionIsRetriedWithinTheFirstDelay() {
        var policy = ReconnectPolicy(first: 500, maximum: 15_000)
        for _ in 0..<5 { _ = policy.failed(now: 0, draw: { $0.upperBound }) }
        policy.lost(now: 10_000, draw: { $0.upperBound })
        #expect(policy.nextAttemptAt == 10_500)
        policy.lost(now: 10_000, draw: { $0.lowerBound })
        #expect(policy.isDue(now: 10_000))
    }
}
