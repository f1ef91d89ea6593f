/// Count, mean, sum of squared deviations (Welford), minimum and maximum of a stream of values.
///
/// Device values are hostile input (SPEC §5): any finite Double can arrive. Values up to 1e150 are used as they are
/// (the plain Welford recurrence); a larger one rescales the running state by a power of two (exact), so that
/// readings of ±1.7e308 give a finite mean and standard deviation instead of an overflow to NaN.
package struct RunningMoments {
    package init() {}

    package private(set) var count = 0
    package private(set) var minimum = Double.infinity
    package private(set) var maximum = -Double.infinity
    /// Values are multiplied by this power of two (1 until a value above 1e150 arrives).
    private var scale = 1.0
    private var scaledMean = 0.0
    private var scaledSquares = 0.0

    package mutating func add(_ value: Double) {
        guard value.isFinite else { return }
        if abs(value) * scale > 1e150 {
            // Bring the new value to magnitude ≤ 1; powers of two rescale the state exactly.
            let smaller = Double(sign: .plus, exponent: -(value.exponent + 1), significand: 1)
            if smaller < scale {
                let ratio = smaller / scale
                scaledMean *= ratio
                scaledSquares *= ratio * ratio
                scale = smaller
            }
        }
        count += 1
        let scaled = value * scale
        let delta = scaled - scaledMean
        scaledMean += delta / Double(count)
        scaledSquares += delta * (scaled - scaledMean)
        minimum = min(minimum, value)
        maximum = max(maximum, value)
    }

    package var mean: Double { scaledMean / scale }

    /// The sample standard deviation (n − 1); nil with fewer than two values.
    package var sampleStandardDeviation: Double? {
        count > 1 ? (scaledSquares / Double(count - 1)).squareRoot() / scale : nil
    }
}

// MARK: Stored form and merging (rollups, SPEC §6)

extension RunningMoments {
    /// The sum of squared deviations as stored in a rollup: `M2 = m2 · 4^shift`, so that values near ±1.7e308 keep
    /// a finite `m2` (`shift` is 0 unless a value above 1e150 arrived).
    package var storedSquares: (m2: Double, shift: Int) {
        (scaledSquares, scale == 1 ? 0 : -scale.exponent)
    }

    /// Restores moments from their stored form (`mean` unscaled, `m2` as `storedSquares` gives it).
    package init(count: Int, mean: Double, m2: Double, shift: Int, minimum: Double, maximum: Double) {
        self.count = count
        self.minimum = minimum
        self.maximum = maximum
        scale = shift == 0 ? 1 : Double(sign: .plus, exponent: -shift, significand: 1)
        scaledMean = mean * scale
        scaledSquares = m2
    }

    /// Adds the values `other` summarizes (Chan et al.'s parallel formula), as if they had been added one by one.
    package mutating func merge(_ other: RunningMoments) {
        guard other.count > 0 else { return }
        guard count > 0 else {
            self = other
            return
        }
        var other = other
        // Both on the smaller scale (powers of two: exact up to underflow of negligible terms).
        if other.scale < scale {
            let ratio = other.scale / scale
            scaledMean *= ratio
            scaledSquares *= ratio * ratio
            scale = other.scale
        } else if scale < other.scale {
            let ratio = scale / other.scale
            other.scaledMean *= ratio
            other.scaledSquares *= ratio * ratio
        }
        let total = Double(count + other.count)
        let delta = other.scaledMean - scaledMean
        scaledMean += delta * (Double(other.count) / total)
        scaledSquares += other.scaledSquares + delta * delta * (Double(count) * Double(other.count) / total)
        count += other.count
        minimum = min(minimum, other.minimum)
        maximum = max(maximum, other.maximum)
    }
}
