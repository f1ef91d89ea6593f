import FoundationEssentials
import Dispatch
import Glibc

/// Number formatting for people (status lines, tables).
package enum Formatting {
    package static func fixed(_ value: Double, digits: Int) -> String {
        cFormat("%.\(digits)f", value)
    }

    package static func bytes(_ count: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(count)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(count) B" : "\(fixed(value, digits: 1)) \(units[unit])"
    }
}
