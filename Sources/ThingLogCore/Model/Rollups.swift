/// ⌊a / b⌋ for b > 0, also for negative a.
package func floorDivide(_ a: Int64, _ b: Int64) -> Int64 {
    let quotient = a / b
    return a % b < 0 ? quotient - 1 : quotient
}

/// a mod b in [0, b) for b > 0.
package func floorModulo(_ a: Int64, _ b: Int64) -> Int64 {
    let remainder = a % b
    return remainder < 0 ? remainder + b : remainder
}

/// The width of a rollup bucket (SPEC §6 "Rollups"): 5-minute and 1-hour buckets aligned to UTC.
package enum RollupWidth: Int64, CaseIterable, Sendable {
    case fiveMinutes = 300_000
    case hour = 3_600_000

    /// The start of the bucket holding `time`.
    package func bucket(of time: Int64) -> Int64 { time - floorModulo(time, rawValue) }

    /// The first bucket start at or after `time`.
    package func bucket(atOrAfter time: Int64) -> Int64 {
        let start = bucket(of: time)
        return start == time ? start : start &+ rawValue
    }
}

/// Which series a rollup row summarizes: a raw series (`series.id`) or a ppm series (`ppm_series.id`), stored as one
/// key (raw ids as they are, ppm ids negated) so that both live in one table.
package enum RollupSeries: Hashable, Sendable {
    case raw(Int64)
    case ppm(Int64)

    package var key: Int64 {
        switch self {
        case .raw(let id): id
        case .ppm(let id): -id
        }
    }
}

/// The statistics of one series in one bucket: count, mean, M2, min, max (`moments`), first and last sample time.
package struct RollupRow: Sendable {
    package var series: RollupSeries
    package var bucket: Int64
    package var moments: RunningMoments
    package var firstTime: Int64
    package var lastTime: Int64

    package init(series: RollupSeries, bucket: Int64, moments: RunningMoments, firstTime: Int64, lastTime: Int64) {
        self.series = series
        self.bucket = bucket
        self.moments = moments
        self.firstTime = firstTime
        self.lastTime = lastTime
    }
}

/// When one device reported within one hour: the number of distinct sample times (reports), the first and last,
/// and how often each gap between consecutive ones occurred: with first and last, enough to compute a range's
/// report count and median interval exactly from whole hours (the `coverage` query).
package struct FrameRollupRow: Sendable, Equatable {
    package var bucket: Int64
    package var count: Int
    package var firstTime: Int64
    package var lastTime: Int64
    /// Gap in whole seconds (`gapSeconds`) → how many times it occurred between consecutive reports in the bucket.
    package var gaps: [Int64: Int]

    /// A gap between reports as `coverage` takes it: rounded to whole seconds, so that an hour of reports with
    /// jittery clocks needs a few histogram entries, not one per report.
    package static func gapSeconds(_ milliseconds: Int64) -> Int64 {
        floorDivide(milliseconds + 500, 1000)
    }

    package init(bucket: Int64, count: Int, firstTime: Int64, lastTime: Int64, gaps: [Int64: Int]) {
        self.bucket = bucket
        self.count = count
        self.firstTime = firstTime
        self.lastTime = lastTime
        self.gaps = gaps
    }

    /// The gaps as stored, whichever JSON text is shorter: an array `[g, n_g, n_g+1, …]` (the smallest gap, then
    /// the count of each gap from it on, zeros included: compact for regular reporting), or an object
    /// `{"gap": count, …}` (compact for a few scattered gaps).
    package var gapsText: String {
        let sorted = gaps.sorted { $0.key < $1.key }
        let object = "{" + sorted.map { "\"\($0.key)\":\($0.value)" }.joined(separator: ",") + "}"
        guard let first = sorted.first?.key, let last = sorted.last?.key, last - first < Int64(object.utf8.count) else {
            return object
        }
        let counts = (first...last).map { String(gaps[$0] ?? 0) }
        let array = "[" + ([String(first)] + counts).joined(separator: ",") + "]"
        return array.utf8.count < object.utf8.count ? array : object
    }
}
