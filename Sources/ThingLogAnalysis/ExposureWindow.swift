import ThingLogStore

/// Time-weighted average exposure (SPEC §6): at each sample time t, (1/W)·∫ over (t − W, t] of the step function in
/// which each sample's value holds until the next sample or for at most `holdMilliseconds`, whichever comes first;
/// time without a value counts as zero (the OSHA formula). W = 8 h gives `twa8h`, W = 15 min `stel15m`.
/// The result at t depends only on the samples in (t − W − hold, t], like `RollingWindowState`.
public struct ExposureWindow: Sendable {
    public let windowMilliseconds: Int64
    public let holdMilliseconds: Int64
    /// Segments [start, end) still overlapping the window, oldest first; `areas` holds value × length of each.
    private(set) var segments: [Segment] = []
    private var head = 0
    private var areas: SlidingAggregate
    private(set) var previous: (time: Int64, value: Double)?

    /// One held value.
    struct Segment: Sendable, Equatable {
        var start: Int64
        var end: Int64
        var value: Double
    }

    public static let defaultHoldMilliseconds: Int64 = 10 * 60_000

    public init(windowMilliseconds: Int64, holdMilliseconds: Int64 = defaultHoldMilliseconds) {
        self.windowMilliseconds = windowMilliseconds
        self.holdMilliseconds = holdMilliseconds
        areas = SlidingAggregate(bucketMilliseconds: windowMilliseconds)
    }

    /// Continues from saved `liveSegments` and the last sample.
    init(windowMilliseconds: Int64, holdMilliseconds: Int64, segments saved: [Segment],
         previous: (time: Int64, value: Double)?) {
        self.init(windowMilliseconds: windowMilliseconds, holdMilliseconds: holdMilliseconds)
        for segment in saved { append(segment) }
        self.previous = previous
    }

    /// The segments that still overlap the window, oldest first.
    var liveSegments: ArraySlice<Segment> { segments[head...] }

    private mutating func append(_ segment: Segment) {
        segments.append(segment)
        areas.append(time: segment.end, value: segment.value * Double(segment.end - segment.start))
    }

    /// Adds the sample at `time` (in time order) and returns the time-weighted average at that time.
    public mutating func add(time: Int64, value: Double) -> Double {
        if let previous {
            let end = min(time, previous.time + holdMilliseconds)
            if end > previous.time { append(Segment(start: previous.time, end: end, value: previous.value)) }
        }
        previous = (time, value)
        let windowStart = time - windowMilliseconds
        while head < segments.count, segments[head].end <= windowStart { head += 1 }
        areas.removeThrough(time: windowStart)
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
