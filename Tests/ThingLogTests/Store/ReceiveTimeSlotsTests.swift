import Testing
@testable import ThingLogStore
@testable import ThingLogCLI

/// The in-memory slots against a brute-force set of taken milliseconds.
@Suite struct ReceiveTimeSlotsTests {
    @Test(arguments: [1, 2, 3, 4] as [UInt64])
    func placementsMatchABruteForceScan(seed: UInt64) {
        var generator = SeededGenerator(seed: seed)
        var slots = ReceiveTimeSlots(last: nil)
        var taken = Set<Int64>()
        var now: Int64 = 1_000_000
        for _ in 0..<5_000 {
            // Bursts in one millisecond, small steps, and the odd jump back within the known window.
            now += [0, 0, 0, 1, 2, 7, 300][Int.random(in: 0...6, using: &generator)]
            let receivedAt = max(slots.knownFrom, now - Int64.random(in: 0...3, using: &generator))
            let expected = (receivedAt..<(receivedAt + ReceiveTimeSlots.slots)).first { !taken.contains($0) }
            let placed = slots.firstFree(from: receivedAt)
            #expect(placed == expected, "seed \(seed) at \(receivedAt)")
            if let placed {
                taken.insert(placed)
                slots.take(placed)
            }
        }
        // The ranges stay merged and sorted.
        for (a, b) in zip(slots.taken, slots.taken.dropFirst()) { #expect(a.upperBound + 1 < b.lowerBound) }
    }

    @Test func aFullSecondHasNoFreeSlot() {
        var slots = ReceiveTimeSlots(last: nil)
        for offset in 0..<ReceiveTimeSlots.slots { slots.take(5_000 + offset) }
        #expect(slots.firstFree(from: 5_000) == nil)
        #expect(slots.firstFree(from: 5_001) == 6_000)
        #expect(slots.taken == [5_000...5_999])
    }
}
