import ThingLogCore

/// Builds one device's rollups (SPEC §6 "Rollups") from its values in time order: for each series (a slot) and
/// each width the open bucket, closed when a value of a later bucket arrives; and the frame rollup of when the device
/// reported. Pure: the analyzer feeds it and writes what it hands back.
///
/// A bucket is always built from all of its values in time order (the analyzer starts at a bucket boundary), so the
/// same data gives bit-identical rows whatever sequence of runs built them.
final class RollupBuilder {
    private struct OpenBucket {
        var bucket = Int64.min
        var moments = RunningMoments()
        var firstTime: Int64 = 0
        var lastTime: Int64 = 0
    }

    let series: [RollupSeries]
    /// 5-minute rows of buckets before this time are not kept (their retention has passed).
    let keepFiveMinutesFrom: Int64
    /// The open buckets by slot, in memory the builder owns (no copy-on-write or exclusivity checks per value).
    private let fiveMinutes: UnsafeMutablePointer<OpenBucket>
    private let hours: UnsafeMutablePointer<OpenBucket>
    private var frame: FrameRollupRow?
    private var finishedFiveMinutes: [RollupRow] = []
    private var finishedHours: [RollupRow] = []
    private var finishedFrames: [FrameRollupRow] = []
    private let slotBySeries: [RollupSeries: Int]

    init(series: [RollupSeries], keepFiveMinutesFrom: Int64) {
        self.series = series
        self.keepFiveMinutesFrom = keepFiveMinutesFrom
        fiveMinutes = .allocate(capacity: max(series.count, 1))
        fiveMinutes.initialize(repeating: OpenBucket(), count: series.count)
        hours = .allocate(capacity: max(series.count, 1))
        hours.initialize(repeating: OpenBucket(), count: series.count)
        slotBySeries = Dictionary(series.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
    }

    deinit {
        fiveMinutes.deinitialize(count: series.count)
        fiveMinutes.deallocate()
        hours.deinitialize(count: series.count)
        hours.deallocate()
    }

    /// The slot of `series`, nil when this builder does not know it.
    func slot(of series: RollupSeries) -> Int? { slotBySeries[series] }

    /// Number of finished rows waiting to be taken.
    var finishedCount: Int { finishedFiveMinutes.count + finishedHours.count + finishedFrames.count }

    /// Adds a value of the series in `slot` (values of one slot arrive in time order; non-finite ones are skipped).
    func add(_ slot: Int, time: Int64, value: Double) {
        guard value.isFinite else { return }
        let five = fiveMinutes + slot, hour = hours + slot
        if let closed = Self.advance(five, width: .fiveMinutes, to: time), closed.bucket >= keepFiveMinutesFrom {
            finishedFiveMinutes.append(row(closed, slot))
        }
        if let closed = Self.advance(hour, width: .hour, to: time) { finishedHours.append(row(closed, slot)) }
        five.pointee.moments.add(value)
        five.pointee.lastTime = time
        hour.pointee.moments.add(value)
        hour.pointee.lastTime = time
    }

    /// Makes `open` the bucket holding `time` (times of a slot never decrease); returns the bucket it closed.
    @inline(__always)
    private static func advance(_ open: UnsafeMutablePointer<OpenBucket>, width: RollupWidth,
                                to time: Int64) -> OpenBucket? {
        let start = open.pointee.bucket
        if start != .min, time >= start, time - start < width.rawValue { return nil }
        let closed = start == .min ? nil : open.pointee
        open.pointee = OpenBucket(bucket: width.bucket(of: time), firstTime: time)
        return closed
    }

    private func row(_ open: OpenBucket, _ slot: Int) -> RollupRow {
        RollupRow(series: series[slot], bucket: open.bucket, moments: open.moments, firstTime: open.firstTime,
                  lastTime: open.lastTime)
    }

    /// Records that the device reported at `time` (times arrive in increasing order).
    func addFrame(time: Int64) {
        let bucket = RollupWidth.hour.bucket(of: time)
        // Mutated in place: a copy of the open row would share its gap histogram and copy it at every frame.
        if frame?.bucket == bucket, let lastTime = frame?.lastTime {
            frame?.count += 1
            frame?.gaps[FrameRollupRow.gapUnits(time - lastTime), default: 0] += 1
            frame?.lastTime = time
        } else {
            if let frame { finishedFrames.append(frame) }
            frame = FrameRollupRow(bucket: bucket, count: 1, firstTime: time, lastTime: time, gaps: [:])
        }
    }

    /// What is ready to write: the finished rows (handed over only once) and, with `includingOpen`, the buckets still
    /// open as they stand (partial; written again, complete, later).
    func take(includingOpen: Bool) -> (fiveMinutes: [RollupRow], hours: [RollupRow], frames: [FrameRollupRow]) {
        var result = (fiveMinutes: finishedFiveMinutes, hours: finishedHours, frames: finishedFrames)
        finishedFiveMinutes.removeAll(keepingCapacity: true)
        finishedHours.removeAll(keepingCapacity: true)
        finishedFrames.removeAll(keepingCapacity: true)
        if includingOpen {
            for slot in series.indices {
                let five = fiveMinutes[slot], hour = hours[slot]
                if five.bucket != .min, five.bucket >= keepFiveMinutesFrom {
                    result.fiveMinutes.append(row(five, slot))
                }
                if hour.bucket != .min { result.hours.append(row(hour, slot)) }
            }
            if let frame { result.frames.append(frame) }
        }
        return result
    }
}
