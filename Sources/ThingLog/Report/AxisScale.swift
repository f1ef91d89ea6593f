import Foundation

/// A linear or base-10 logarithmic value axis fitted to the data, with round tick values.
struct AxisScale {
    let low: Double, high: Double
    let logarithmic: Bool

    init(values: [Double], logarithmic: Bool) {
        self.logarithmic = logarithmic
        var low = values.min() ?? 0, high = values.max() ?? 1
        if logarithmic {
            low = pow10(floor(log10(max(low, 1e-3)))); high = pow10(ceil(log10(max(high, low * 10))))
            if high <= low { high = low * 10 }
        } else {
            if high == low { low -= 1; high += 1 }
            let step = AxisScale.niceStep((high - low) / 4)
            low = floor(low / step) * step; high = ceil(high / step) * step
        }
        self.low = low
        self.high = high
    }

    /// Where `value` lies on the axis, 0 at the bottom and 1 at the top.
    func position(_ value: Double) -> Double {
        let fraction = logarithmic ? (log10(max(value, low)) - log10(low)) / (log10(high) - log10(low))
                                   : (value - low) / (high - low)
        return min(max(fraction, 0), 1)
    }

    func ticks() -> [(Double, String)] {
        if logarithmic {
            var result: [(Double, String)] = []
            var value = low
            while value <= high * 1.0001 {
                result.append((value, Self.label(value)))
                value *= 10
            }
            return result
        }
        let step = AxisScale.niceStep((high - low) / 4)
        return stride(from: low, through: high + step / 1000, by: step).map { ($0, Self.label($0)) }
    }

    static func niceStep(_ raw: Double) -> Double {
        guard raw > 0, raw.isFinite else { return 1 }
        let magnitude = pow10(floor(log10(raw)))
        let fraction = raw / magnitude
        return (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10) * magnitude
    }

    static func label(_ value: Double) -> String {
        if abs(value) >= 10_000 { return Formatting.fixed(value / 1000, digits: 0) + "k" }
        if value == value.rounded() { return String(Int64(value)) }
        return Formatting.fixed(value, digits: abs(value) < 1 ? 3 : 1)
    }
}

private func pow10(_ exponent: Double) -> Double { pow(10, exponent) }
