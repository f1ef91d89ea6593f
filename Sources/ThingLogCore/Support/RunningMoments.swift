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
