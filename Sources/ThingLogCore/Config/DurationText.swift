/// Durations as written in configuration and flags: `500ms`, `30s`, `5m`, `1h`, `8h`, `1d` (SPEC §7).
public enum DurationText {
    /// Milliseconds of a duration text, or nil when it is not one. A bare number is not a duration.
    public static func milliseconds(_ text: String) -> Int64? {
        let units: [(suffix: String, factor: Double)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000),
                                                         ("d", 86_400_000)]
        for unit in units where text.hasSuffix(unit.suffix) {
            let number = text.dropLast(unit.suffix.count)
            // "5ms" also ends in "s": only accept a plain decimal number before the suffix.
            guard !number.isEmpty, number.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
                  let value = Double(number), value >= 0 else { continue }
            let result = value * unit.factor
            guard result == result.rounded(), result < 1e15 else { return nil }
            return Int64(result)
        }
        return nil
    }
}
