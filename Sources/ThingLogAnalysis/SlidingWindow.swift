import ThingLogCore

import ThingLogStore

/// Sum, minimum, maximum and count of the values in a first-in-first-out window, in amortized O(1) per step and
/// without subtracting (SPEC §6 rolling averages).
///
/// Two stacks keep running aggregates, and where they meet is fixed by the clock, not by history: `back` holds the
/// window's values of the newest bucket (`bucketMilliseconds` aligned on the epoch) with aggregates running forward
/// from its first value, `front` the values of the bucket before with aggregates running backward from its last
/// one. So the sum at a sample is a fresh summation that depends only on the values in the window: a series
/// processed in pieces, resumed from saved contents, or started anywhere before the window gives bit-identical
/// results, and long series do not drift. The window must not be longer than a bucket.
public struct SlidingAggregate: Sendable {
    private struct Entry: Sendable {
        var time: Int64
        var value: Double
        /// Aggregate of this entry and everything below it on its stack.
        var sum: Double
        var minimum: Double
        var maximum: Double

        init(time: Int64, value: Double, below: Entry?) {
            self.time = time
            self.value = value
            sum = (below?.sum ?? 0) + value
            minimum = below.map { min($0.minimum, value) } ?? value
            maximum = below.map { max($0.maximum, value) } ?? value
        }
    }

    public let bucketMilliseconds: Int64
    /// The newest bucket's values, oldest first.
    private var back: [Entry] = []
    private var backBucket: Int64 = .min
    /// The previous bucket's values, newest first, so the oldest is on top.
    private var front: [Entry] = []

    public init(bucketMilliseconds: Int64) {
        precondition(bucketMilliseconds > 0)
        self.bucketMilliseconds = bucketMilliseconds
    }

    public var count: Int { back.count + front.count }
    public var isEmpty: Bool { count == 0 }

    public var sum: Double { (front.last?.sum ?? 0) + (back.last?.sum ?? 0) }
    public var minimum: Double? {
        switch (front.last?.minimum, back.last?.minimum) {
        case let (a?, b?): min(a, b)
        case let (a, b): a ?? b
        }
    }
    public var maximum: Double? {
        switch (front.last?.maximum, back.last?.maximum) {
        case let (a?, b?): max(a, b)
        case let (a, b): a ?? b
        }
    }

    /// Time of the oldest value.
    public var oldestTime: Int64? { front.last?.time ?? back.first?.time }

    /// The window's values, oldest first: what `restoring` needs to continue exactly.
    public var contents: [(time: Int64, value: Double)] {
        front.reversed().map { ($0.time, $0.value) } + back.map { ($0.time, $0.value) }
    }

    /// An aggregate holding `contents` (oldest first), as if they had been appended in order and nothing older.
    public static func restoring(_ contents: [(time: Int64, value: Double)],
                                 bucketMilliseconds: Int64) -> SlidingAggregate {
        var aggregate = SlidingAggregate(bucketMilliseconds: bucketMilliseconds)
        for (time, value) in contents { aggregate.append(time: time, value: value) }
        return aggregate
    }

    /// Appends a value; times must not decrease.
    public mutating func append(time: Int64, value: Double) {
        let bucket = floorDivide(time, bucketMilliseconds)
        if bucket != backBucket {
            // Values two buckets back are outside any window that ends in this bucket.
            front = bucket == backBucket + 1 ? Self.backward(back) : []
            back = []
            backBucket = bucket
        }
        back.append(Entry(time: time, value: value, below: back.last))
    }

    /// Drops every value with time ≤ `limit`.
    public mutating func removeThrough(time limit: Int64) {
        while let top = front.last, top.time <= limit { front.removeLast() }
        guard front.isEmpty, let first = back.first, first.time <= limit else { return }
        // Only after a pause longer than the window: restart the newest bucket's aggregates at its first survivor.
        let survivors = back.filter { $0.time > limit }
        back = []
        for entry in survivors { back.append(Entry(time: entry.time, value: entry.value, below: back.last)) }
    }

    private static func backward(_ entries: [Entry]) -> [Entry] {
        var stack: [Entry] = []
        stack.reserveCapacity(entries.count)
        for entry in entries.reversed() { stack.append(Entry(time: entry.time, value: entry.value, below: stack.last)) }
        return stack
    }
}

/// One rolling-window result at one sample (SPEC §4 `rolling` columns).
public struct RollingValue: Sendable, Equatable {
    public var time: Int64
    public var mean: Double
    public var minimum: Double
    public var maximum: Double
    public var count: Int
}

/// Time-based rolling statistics over a series: at each sample t, the samples with t − W < tᵢ ≤ t (as pandas
/// `Series.rolling("5min")` on a time index). Feed samples in time order; the result at t depends only on the
/// samples in (t − W, t], so a series can be processed in pieces or started anywhere at or before t − W.
public struct RollingWindowState: Sendable {
    public let windowMilliseconds: Int64
    private(set) var aggregate: SlidingAggregate

    public init(windowMilliseconds: Int64) {
        self.windowMilliseconds = windowMilliseconds
        aggregate = SlidingAggregate(bucketMilliseconds: windowMilliseconds)
    }

    init(windowMilliseconds: Int64, contents: [(time: Int64, value: Double)]) {
        self.windowMilliseconds = windowMilliseconds
        aggregate = .restoring(contents, bucketMilliseconds: windowMilliseconds)
    }

    public mutating func add(time: Int64, value: Double) -> RollingValue {
        aggregate.append(time: time, value: value)
        aggregate.removeThrough(time: time - windowMilliseconds)
        return RollingValue(time: time, mean: aggregate.sum / Double(aggregate.count),
                            minimum: aggregate.minimum ?? value, maximum: aggregate.maximum ?? value,
                            count: aggregate.count)
    }
}
