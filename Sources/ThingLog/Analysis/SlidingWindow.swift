/// Sum, minimum, maximum and count of the values in a first-in-first-out window, in amortized O(1) per step and
/// without subtracting: two stacks each keep running aggregates, so the sum is always a fresh summation of the
/// window's values and does not drift however long the series (SPEC §6 rolling averages).
public struct SlidingAggregate: Sendable {
    private struct Entry: Sendable {
        var time: Int64
        var value: Double
        /// Aggregate of this entry and everything below it on its stack.
        var sum: Double
        var minimum: Double
        var maximum: Double
    }

    /// Newest values are pushed here.
    private var back: [Entry] = []
    /// Oldest values are popped from the end of this one.
    private var front: [Entry] = []

    public init() {}

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
    public var mean: Double? { isEmpty ? nil : sum / Double(count) }

    /// Time of the oldest value.
    public var oldestTime: Int64? { front.last?.time ?? back.first?.time }

    public mutating func append(time: Int64, value: Double) {
        if let top = back.last {
            back.append(Entry(time: time, value: value, sum: top.sum + value, minimum: min(top.minimum, value),
                              maximum: max(top.maximum, value)))
        } else {
            back.append(Entry(time: time, value: value, sum: value, minimum: value, maximum: value))
        }
    }

    /// Drops the oldest value.
    public mutating func removeOldest() {
        if front.isEmpty {
            // Move the back stack over, oldest ending on top, rebuilding the running aggregates.
            while let entry = back.popLast() {
                if let top = front.last {
                    front.append(Entry(time: entry.time, value: entry.value, sum: top.sum + entry.value,
                                       minimum: min(top.minimum, entry.value), maximum: max(top.maximum, entry.value)))
                } else {
                    front.append(Entry(time: entry.time, value: entry.value, sum: entry.value, minimum: entry.value,
                                       maximum: entry.value))
                }
            }
        }
        _ = front.popLast()
    }

    /// Drops every value with time ≤ `limit`.
    public mutating func removeThrough(time limit: Int64) {
        while let oldest = oldestTime, oldest <= limit { removeOldest() }
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
/// `Series.rolling("5min")` on a time index). Feed samples in time order; state carries across calls, so a series
/// can be processed in pieces.
public struct RollingWindowState: Sendable {
    public let windowMilliseconds: Int64
    private var aggregate = SlidingAggregate()

    public init(windowMilliseconds: Int64) {
        self.windowMilliseconds = windowMilliseconds
    }

    public mutating func add(time: Int64, value: Double) -> RollingValue {
        aggregate.append(time: time, value: value)
        aggregate.removeThrough(time: time - windowMilliseconds)
        return RollingValue(time: time, mean: aggregate.sum / Double(aggregate.count),
                            minimum: aggregate.minimum ?? value, maximum: aggregate.maximum ?? value,
                            count: aggregate.count)
    }
}
