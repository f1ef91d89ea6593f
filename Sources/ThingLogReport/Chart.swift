import Foundation
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
        var values = series.flatMap { $0.band.flatMap { [$0.low, $0.high] } + $0.line.map(\.value) }
            + rules.map(\.value)
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
                run.append(bucket)
            }
            closeBand()
            // Break the line where samples are missing for more than two buckets.
            var path = ""
            var previous: Int64?
            let gap = (day.end - day.start) / 100
            for point in series.line where !logarithmic || point.value > 0 {
                let command = previous.map { point.time - $0 > gap } ?? true ? "M" : "L"
                path += "\(command)\(f(x(point.time))),\(f(y(point.value)))"
                previous = point.time
            }
            if !path.isEmpty {
                out += "<path d=\"\(path)\" fill=\"none\" stroke=\"\(series.color)\" stroke-width=\"1.4\">"
                    + "<title>\(htmlEscaped(series.name))</title></path>"
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
