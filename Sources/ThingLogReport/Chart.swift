import FoundationEssentials
import Dispatch
import Glibc
import ThingLogCore
import ThingLogStore

/// One small chart of a report: series drawn over the report day, as inline SVG (no scripts, no external
/// references). Values are reduced to time buckets before drawing, so a day of 10-second samples stays small.
struct Chart {
    /// One drawn series: a min–max band per bucket (optional) and a line through `line` points.
    struct Series {
        var name: String
        var color: String
        var band: [(start: Int64, end: Int64, low: Double, high: Double)] = []
        var line: [(time: Int64, value: Double)] = []
        /// A ppm estimate's datasheet range (SPEC §6 "Beyond a curve's range"): values beyond it are drawn at its
        /// edge, dashed, as a meter shows over-range.
        var validRange: ClosedRange<Double>?

        /// The value as drawn: clamped to the valid range.
        func drawn(_ value: Double) -> Double {
            validRange.map { min(max(value, $0.lowerBound), $0.upperBound) } ?? value
        }

        func isExtrapolated(_ value: Double) -> Bool { validRange.map { !$0.contains(value) } ?? false }
    }

    /// A shaded time span (an alarm) and a horizontal rule line (its threshold).
    struct Span { var start: Int64; var end: Int64; var color: String; var label: String }
    struct Rule { var value: Double; var label: String }

    var title: String
    var unit: String
    var logarithmic = false
    var series: [Series] = []
    var spans: [Span] = []
    var rules: [Rule] = []

    static let width = 420.0, height = 150.0
    static let left = 46.0, right = 8.0, top = 8.0, bottom = 22.0

    /// The chart as an `<svg>` element. Every string from the data is escaped.
    func svg(day: ReportDay) -> String {
        let plotWidth = Self.width - Self.left - Self.right, plotHeight = Self.height - Self.top - Self.bottom
        var values = series.flatMap { series in
            series.band.flatMap { [series.drawn($0.low), series.drawn($0.high)] }
                + series.line.map { series.drawn($0.value) }
        } + rules.map(\.value)
        if logarithmic { values = values.filter { $0 > 0 } }
        let scale = AxisScale(values: values, logarithmic: logarithmic)
        func x(_ time: Int64) -> Double {
            Self.left + plotWidth * Double(min(max(time, day.start), day.end) - day.start) / Double(day.end - day.start)
        }
        func y(_ value: Double) -> Double { Self.top + plotHeight * (1 - scale.position(value)) }
        func f(_ value: Double) -> String { coordinate(value) }

        var out = "<svg class=\"chart\" viewBox=\"0 0 \(Int(Self.width)) \(Int(Self.height))\" role=\"img\" "
            + "aria-label=\"\(htmlEscaped(title))\">"
        out += "<title>\(htmlEscaped(title))</title>"
        for span in spans {
            let x0 = x(span.start), x1 = max(x(span.end), x0 + 1)
            out += "<rect x=\"\(f(x0))\" y=\"\(f(Self.top))\" width=\"\(f(x1 - x0))\" height=\"\(f(plotHeight))\" "
                + "fill=\"\(span.color)\" opacity=\"0.28\"><title>\(htmlEscaped(span.label))</title></rect>"
        }
        // The curves' datasheet range, shaded (SPEC §6): estimates outside it are extrapolations.
        let ranges = series.compactMap(\.validRange)
        if let lower = ranges.map(\.lowerBound).min(), let upper = ranges.map(\.upperBound).max() {
            let y0 = y(upper), y1 = y(lower)
            out += "<rect x=\"\(f(Self.left))\" y=\"\(f(y0))\" width=\"\(f(plotWidth))\" "
                + "height=\"\(f(max(y1 - y0, 0)))\" "
                + "class=\"valid\"><title>datasheet range \(AxisScale.label(lower))–\(AxisScale.label(upper)) ppm"
                + "</title></rect>"
        }
        // Axes, grid and labels.
        out += "<g class=\"axis\">"
        for (tick, label) in scale.ticks() {
            out += "<line x1=\"\(f(Self.left))\" x2=\"\(f(Self.width - Self.right))\" y1=\"\(f(y(tick)))\" "
                + "y2=\"\(f(y(tick)))\" class=\"grid\"/>"
            out += "<text x=\"\(f(Self.left - 4))\" y=\"\(f(y(tick) + 3))\" text-anchor=\"end\">"
                + "\(htmlEscaped(label))</text>"
        }
        for (time, label) in day.ticks(everyHours: 3) {
            out += "<line x1=\"\(f(x(time)))\" x2=\"\(f(x(time)))\" y1=\"\(f(Self.top))\" "
                + "y2=\"\(f(Self.top + plotHeight))\" class=\"grid\"/>"
            out += "<text x=\"\(f(x(time)))\" y=\"\(f(Self.height - 8))\" text-anchor=\"middle\">\(label)</text>"
        }
        out += "<rect x=\"\(f(Self.left))\" y=\"\(f(Self.top))\" width=\"\(f(plotWidth))\" height=\"\(f(plotHeight))\" "
            + "class=\"frame\"/></g>"
        for series in self.series {
            // The band as polygons through the buckets' middles: upper edge left to right, lower edge back, split
            // where buckets are missing (a lone bucket spans its own width).
            var run: [(start: Int64, end: Int64, low: Double, high: Double)] = []
            func closeBand() {
                guard let first = run.first, let last = run.last else { return }
                let middles = run.count == 1 ? [x(first.start), x(first.end)]
                                             : run.map { x(($0.start + $0.end) / 2) }
                let highs = run.count == 1 ? [first.high, first.high] : run.map(\.high)
                let lows = run.count == 1 ? [last.low, last.low] : run.map(\.low)
                let points = zip(middles, highs).map { ($0, y($1)) } + zip(middles, lows).reversed().map { ($0, y($1)) }
                out += "<path d=\"M" + points.map { "\(f($0.0)),\(f($0.1))" }.joined(separator: "L")
                    + "Z\" fill=\"\(series.color)\" opacity=\"0.2\"/>"
                run = []
            }
            for bucket in series.band where !logarithmic || bucket.low > 0 {
                if let last = run.last, last.end != bucket.start { closeBand() }
                run.append((bucket.start, bucket.end, series.drawn(bucket.low), series.drawn(bucket.high)))
            }
            closeBand()
            // Break the line where samples are missing for more than two buckets; a step to or from a value beyond
            // the valid range goes into the dashed path.
            var solid = "", dashed = ""
            var previous: (time: Int64, point: String, extrapolated: Bool)?
            let gap = (day.end - day.start) / 100
            for point in series.line where !logarithmic || point.value > 0 {
                let here = "\(f(x(point.time))),\(f(y(series.drawn(point.value))))"
                let extrapolated = series.isExtrapolated(point.value)
                if let last = previous, point.time - last.time <= gap {
                    if extrapolated || last.extrapolated {
                        dashed += "M\(last.point)L\(here)"
                    } else {
                        solid += (solid.hasSuffix(last.point) ? "" : "M\(last.point)") + "L\(here)"
                    }
                } else if !extrapolated {
                    solid += "M\(here)"
                }
                previous = (point.time, here, extrapolated)
            }
            if !solid.isEmpty {
                out += "<path d=\"\(solid)\" fill=\"none\" stroke=\"\(series.color)\" stroke-width=\"1.4\">"
                    + "<title>\(htmlEscaped(series.name))</title></path>"
            }
            if !dashed.isEmpty {
                out += "<path d=\"\(dashed)\" fill=\"none\" stroke=\"\(series.color)\" stroke-width=\"1.4\" "
                    + "class=\"extrapolated\"><title>\(htmlEscaped(series.name)): beyond the datasheet range "
                    + "(extrapolated), drawn at its edge</title></path>"
            }
        }
        // Threshold lines; labels on the right, moved to the left when they would overlap the one above.
        var lastRightLabel = -Double.infinity
        for rule in rules.sorted(by: { $0.value > $1.value }) where !logarithmic || rule.value > 0 {
            let level = y(rule.value)
            out += "<line x1=\"\(f(Self.left))\" x2=\"\(f(Self.width - Self.right))\" y1=\"\(f(level))\" "
                + "y2=\"\(f(level))\" class=\"threshold\"><title>\(htmlEscaped(rule.label))</title></line>"
            let onRight = level - lastRightLabel >= 10
            if onRight { lastRightLabel = level }
            out += "<text x=\"\(f(onRight ? Self.width - Self.right - 2 : Self.left + 2))\" y=\"\(f(level - 2))\" "
                + "text-anchor=\"\(onRight ? "end" : "start")\" class=\"threshold-label\">"
                + "\(htmlEscaped(rule.label))</text>"
        }
        return out + "</svg>"
    }
}

/// An SVG coordinate with one decimal, without Foundation's formatter (charts write hundreds of thousands).
func coordinate(_ value: Double) -> String {
    // Positions are clamped to the plot, so this only guards against a value that is not a number.
    let tenths = value.isFinite ? Int64((min(max(value, -1e9), 1e9) * 10).rounded()) : 0
    let whole = tenths / 10, fraction = abs(tenths % 10)
    return (tenths < 0 && whole == 0 ? "-" : "") + "\(whole).\(fraction)"
}
