import FoundationEssentials
import Dispatch
import Glibc
import ThingLogCore
import ThingLogExport

/// A linear or base-10 logarithmic value axis fitted to the data, with round tick values.
///
/// Device values are hostile input (SPEC §5): only finite values are fitted, they are clamped to ±1e300 so that a
/// range never overflows to infinity, an empty or zero-width range falls back to one around its value, and the tick
/// count is capped, so no value set can make a chart trap or loop.
struct AxisScale {
    let low: Double, high: Double
    let logarithmic: Bool

    /// Largest magnitude fitted: `high - low` stays finite.
    static let limit = 1e300
    /// Most ticks an axis draws.
    static let maximumTicks = 8

    init(values: [Double], logarithmic: Bool) {
        self.logarithmic = logarithmic
        let finite = values.lazy.filter(\.isFinite).map { min(max($0, -Self.limit), Self.limit) }
        var low = finite.min() ?? 0, high = finite.max() ?? 1
        if logarithmic {
            low = pow10(floor(log10(min(max(low, 1e-3), Self.limit))))
            high = pow10(ceil(log10(min(max(high, low * 10), Self.limit))))
            if !(high > low) { high = low * 10 }
        } else {
            if !(high - low > abs(low) * 1e-9) {
                let half = max(abs(low) * 0.05, 1)
                low -= half; high += half
            }
            let step = AxisScale.niceStep((high - low) / 4)
            low = max(floor(low / step) * step, -Self.limit * 2)
            high = min(ceil(high / step) * step, Self.limit * 2)
        }
        self.low = low
        self.high = high
    }

    /// Where `value` lies on the axis, 0 at the bottom and 1 at the top (0 for a value that is not a number).
    func position(_ value: Double) -> Double {
        let fraction = logarithmic ? (log10(max(value, low)) - log10(low)) / (log10(high) - log10(low))
                                   : (value - low) / (high - low)
        guard !fraction.isNaN else { return 0 }
        return min(max(fraction, 0), 1)
    }

    func ticks() -> [(Double, String)] {
        if logarithmic {
            let decades = Int(min(log10(high) - log10(low), 1000).rounded())
            let every = max(1, (decades + Self.maximumTicks - 1) / Self.maximumTicks)
            return stride(from: 0, through: decades, by: every).map { decade in
                let value = low * pow10(Double(decade))
                return (value, Self.label(value))
            }
        }
        let step = AxisScale.niceStep((high - low) / 4)
        let count = ((high - low) / step).rounded(.down)
        guard count.isFinite, count <= Double(Self.maximumTicks * 2) else {
            return [(low, Self.label(low)), (high, Self.label(high))]
        }
        return (0...Int(count)).map { index in
            let value = low + Double(index) * step
            return (value, Self.label(value))
        }
    }

    static func niceStep(_ raw: Double) -> Double {
        guard raw > 0, raw.isFinite else { return 1 }
        let magnitude = pow10(floor(log10(raw)))
        let fraction = raw / magnitude
        return (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10) * magnitude
    }

    static func label(_ value: Double) -> String {
        if abs(value) >= 1e9 { return cFormat("%.0e", value) }
        if abs(value) >= 10_000 { return Formatting.fixed(value / 1000, digits: 0) + "k" }
        if value == value.rounded() { return String(Int64(value)) }
        return Formatting.fixed(value, digits: abs(value) < 1 ? 3 : 1)
    }
}

private func pow10(_ exponent: Double) -> Double { pow(10, exponent) }
