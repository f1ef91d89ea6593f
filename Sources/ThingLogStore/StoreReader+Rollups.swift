import ThingLogCore

/// Range statistics from rollups (SPEC §6 "Rollups"): whole hourly buckets where analyze has rolled every reading
/// up, raw samples at the partial edges and wherever it has not (late data, data newer than its last run).
extension StoreReader {
    /// Count, mean, M2, min, max, first and last time of a series' samples in a range.
    public struct SeriesStatistics: Sendable {
        package var moments = RunningMoments()
        public var firstTime: Int64 = 0
        public var lastTime: Int64 = 0

        public var count: Int { moments.count }
        public var minimum: Double { moments.minimum }
        public var maximum: Double { moments.maximum }
        public var mean: Double { moments.mean }
        /// The sample standard deviation (n − 1); nil with fewer than two samples.
        public var sampleStandardDeviation: Double? { moments.sampleStandardDeviation }

        mutating func add(time: Int64, value: Double) {
            guard value.isFinite else { return }
            if moments.count == 0 { firstTime = time }
            moments.add(value)
            lastTime = time
        }

        mutating func merge(_ other: RunningMoments, firstTime: Int64, lastTime: Int64) {
            guard other.count > 0 else { return }
            if moments.count == 0 { self.firstTime = firstTime }
            moments.merge(other)
            self.lastTime = lastTime
        }
    }

    /// Per device id, the time before which its rollups hold every reading (`rollup_complete_v`); a device missing
    /// here has no usable rollups.
    public func rollupsCompleteBefore() throws -> [Int64: Int64] {
        var result: [Int64: Int64] = [:]
        for row in try database.rows("SELECT device_id, complete_before FROM rollup_complete_v") {
            if let device = row[0].int64Value, let time = row[1].int64Value { result[device] = time }
        }
        return result
    }

    /// The statistics of a series' samples with `from ≤ ts < to` (for ppm series its usable estimates), equal to a
    /// scan of the samples (count, min, max, first and last exactly; mean and deviation to rounding), nil when there
    /// are none. `completeBefore` is the series' device's entry of `rollupsCompleteBefore()`.
    public func statistics(of series: Series, from: Int64, to: Int64,
                           completeBefore: Int64?) throws -> SeriesStatistics? {
        var result = SeriesStatistics()
        let hour = RollupWidth.hour
        let low = from == .min ? Int64.min : hour.bucket(atOrAfter: from)
        let limit = min(to, completeBefore ?? .min)
        let high = limit == .min ? low : max(low, hour.bucket(of: limit))
        if from < min(low, to) {
            try samples(of: series, from: from, to: min(low, to)) { result.add(time: $0, value: $1) }
        }
        if low < high {
            let statement = try database.cachedStatement("""
                SELECT count, mean, m2, m2_shift, min, max, slot * 3600000 + first_offset, slot * 3600000 + last_offset
                FROM rollup_1h WHERE series_key = ? AND slot >= ? AND slot < ? ORDER BY slot
                """)
            defer { statement.reset() }
            let key = series.isPPM ? RollupSeries.ppm(series.id) : RollupSeries.raw(series.id)
            try statement.bind([.integer(key.key), .integer(RollupWriter.slot(low, .hour)),
                                .integer(RollupWriter.slot(high, .hour))])
            while try statement.step() {
                let moments = RunningMoments(count: Int(statement.int64(0)), mean: statement.double(1),
                                             m2: statement.double(2), shift: Int(statement.int64(3)),
                                             minimum: statement.double(4), maximum: statement.double(5))
                result.merge(moments, firstTime: statement.int64(6), lastTime: statement.int64(7))
            }
        }
        let rest = max(high, from)
        if rest < to { try samples(of: series, from: rest, to: to) { result.add(time: $0, value: $1) } }
        return result.count > 0 ? result : nil
    }
}
