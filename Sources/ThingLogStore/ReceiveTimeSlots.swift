
/// The milliseconds a device's receive-timed reports hold, as far as the writer knows them without asking the store
/// (SPEC §5: a report without a conforming timestamp takes its receive time, or the next free millisecond up to
/// 1 s later).
///
/// Every taken millisecond at or after `knownFrom` is in `taken` (merged, sorted ranges), so a burst of untimed
/// reports — a broker draining a backlog delivers thousands within a second — is placed without a query per
/// report. Below `knownFrom` the store is asked (`StoreWriter.freeMillisecond`).
struct ReceiveTimeSlots {
    private(set) var knownFrom: Int64
    private(set) var taken: [ClosedRange<Int64>] = []

    /// How far after its receive time a report may be placed.
    static let slots: Int64 = 1000

    /// Slots of a device whose latest receive-timed report is at `last` (nil: it has none).
    init(last: Int64?) {
        knownFrom = last.map { $0 &+ 1 } ?? .min
    }

    /// The first free millisecond in [receivedAt, receivedAt + slots), when `receivedAt >= knownFrom`; nil when all
    /// are taken.
    func firstFree(from receivedAt: Int64) -> Int64? {
        guard let index = taken.firstIndex(where: { $0.upperBound >= receivedAt }), taken[index].contains(receivedAt)
        else { return receivedAt }
        let candidate = taken[index].upperBound &+ 1   // ranges are merged: the next one starts later
        return candidate - receivedAt < Self.slots ? candidate : nil
    }

    /// Records a taken millisecond at or after `knownFrom`.
    mutating func take(_ millisecond: Int64) {
        guard millisecond >= knownFrom else { return }
        let index = taken.firstIndex { $0.upperBound >= millisecond &- 1 } ?? taken.endIndex
        if index < taken.endIndex, taken[index].contains(millisecond) { return }
        var range = millisecond...millisecond
        var replaced = index..<index
        if index < taken.endIndex, taken[index].upperBound == millisecond &- 1 {
            range = taken[index].lowerBound...millisecond
            replaced = index..<(index + 1)
        }
        if replaced.upperBound < taken.endIndex, taken[replaced.upperBound].lowerBound == millisecond &+ 1 {
            range = range.lowerBound...taken[replaced.upperBound].upperBound
            replaced = replaced.lowerBound..<(replaced.upperBound + 1)
        }
        taken.replaceSubrange(replaced, with: [range])
        // Keep the list short: forget what lies far below the newest slot (the store still knows it).
        if taken.count > 64, let newest = taken.last?.upperBound {
            let cutoff = newest &- 10 * Self.slots
            taken.removeAll { $0.upperBound < cutoff }
            knownFrom = max(knownFrom, cutoff)
        }
    }
}
