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

    /// The start of the bucket holding `time` (times within one bucket of `Int64.min` are in the first whole one).
    package func bucket(of time: Int64) -> Int64 {
        let start = time &- floorModulo(time, rawValue)
        return start > time ? start &+ rawValue : start
    }

    /// The first bucket start at or after `time` (the last one for times within a bucket of `Int64.max`).
    package func bucket(atOrAfter time: Int64) -> Int64 {
        let start = bucket(of: time)
        guard start != time else { return start }
        let (next, overflow) = start.addingReportingOverflow(rawValue)
        return overflow ? start : next
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
    /// Gap in `gapUnits` → how many times it occurred between consecutive reports in the bucket.
    package var gaps: [Int64: Int]

    /// A gap between reports as `coverage` takes it, in hundredths of a second, rounded to two significant digits:
    /// whole seconds from 10 s, tenths from 1 s, hundredths below (at most 5 % off, so an hour of reports with
    /// jittery clocks needs a few histogram entries, not one per report; the query rounds raw gaps the same way).
    package static func gapUnits(_ milliseconds: Int64) -> Int64 {
        let step: Int64 = milliseconds >= 10_000 ? 1000 : milliseconds >= 1000 ? 100 : 10
        return floorDivide(milliseconds + step / 2, step) * step / 10
    }

    package init(bucket: Int64, count: Int, firstTime: Int64, lastTime: Int64, gaps: [Int64: Int]) {
        self.bucket = bucket
        self.count = count
        self.firstTime = firstTime
        self.lastTime = lastTime
        self.gaps = gaps
    }

    /// The gaps as stored, whichever JSON text is shorter: an array `[g, s, n_g, n_g+s, …]` (the smallest gap, the
    /// step between gaps, then the count of each gap from it on, zeros included: compact for regular reporting), or
    /// an object `{"gap": count, …}` (compact for a few scattered gaps).
    package var gapsText: String {
        let sorted = gaps.sorted { $0.key < $1.key }
        var object: [UInt8] = [UInt8(ascii: "{")]
        for (index, entry) in sorted.enumerated() {
            if index > 0 { object.append(UInt8(ascii: ",")) }
            object.append(UInt8(ascii: "\""))
            Self.appendDecimal(entry.key, to: &object)
            object += [UInt8(ascii: "\""), UInt8(ascii: ":")]
            Self.appendDecimal(Int64(entry.value), to: &object)
        }
        object.append(UInt8(ascii: "}"))
        guard let first = sorted.first?.key, let last = sorted.last?.key else {
            return String(decoding: object, as: UTF8.self)
        }
        func gcd(_ a: Int64, _ b: Int64) -> Int64 { b == 0 ? a : gcd(b, a % b) }
        let step = max(1, sorted.reduce(Int64(0)) { gcd($0, $1.key - first) })
        guard (last - first) / step < Int64(object.count) else { return String(decoding: object, as: UTF8.self) }
        var array: [UInt8] = [UInt8(ascii: "[")]
        Self.appendDecimal(first, to: &array)
        array.append(UInt8(ascii: ","))
        Self.appendDecimal(step, to: &array)
        for gap in stride(from: first, through: last, by: Int(step)) {
            array.append(UInt8(ascii: ","))
            Self.appendDecimal(Int64(gaps[gap] ?? 0), to: &array)
        }
        array.append(UInt8(ascii: "]"))
        return String(decoding: array.count < object.count ? array : object, as: UTF8.self)
    }

    /// Appends `value` in decimal digits (a sign first when negative).
    private static func appendDecimal(_ value: Int64, to bytes: inout [UInt8]) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        let start = bytes.count
        repeat {
            bytes.append(UInt8(ascii: "0") + UInt8(magnitude % 10))
            magnitude /= 10
        } while magnitude > 0
        bytes[start...].reverse()
    }
}
