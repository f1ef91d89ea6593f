/// Time-weighted average exposure (SPEC §6): at each sample time t, (1/W)·∫ over (t − W, t] of the step function in
/// which each sample's value holds until the next sample or for at most `holdMilliseconds`, whichever comes first;
/// time without a value counts as zero (the OSHA formula). W = 8 h gives `twa8h`, W = 15 min `stel15m`.
public struct ExposureWindow: Sendable {
    public let windowMilliseconds: Int64
    public let holdMilliseconds: Int64
    /// Completed segments [start, end) with their value; areas summed without drift.
    private var segments: [(start: Int64, end: Int64, value: Double)] = []
    private var head = 0
    private var areas = SlidingAggregate()
    private var previous: (time: Int64, value: Double)?

    public static let defaultHoldMilliseconds: Int64 = 10 * 60_000

    public init(windowMilliseconds: Int64, holdMilliseconds: Int64 = defaultHoldMilliseconds) {
        self.windowMilliseconds = windowMilliseconds
        self.holdMilliseconds = holdMilliseconds
    }

    /// Adds the sample at `time` (in time order) and returns the time-weighted average at that time.
    public mutating func add(time: Int64, value: Double) -> Double {
        if let previous {
            let end = min(time, previous.time + holdMilliseconds)
            if end > previous.time {
                segments.append((previous.time, end, previous.value))
                areas.append(time: end, value: previous.value * Double(end - previous.time))
            }
        }
        previous = (time, value)
        let windowStart = time - windowMilliseconds
        while head < segments.count, segments[head].end <= windowStart {
            head += 1
            areas.removeOldest()
        }
        if head > 1024 && head * 2 > segments.count {
            segments.removeFirst(head)
            head = 0
        }
        var integral = areas.sum
        if head < segments.count, segments[head].start < windowStart {
            integral -= segments[head].value * Double(windowStart - segments[head].start)
        }
        return integral / Double(windowMilliseconds)
    }
}
