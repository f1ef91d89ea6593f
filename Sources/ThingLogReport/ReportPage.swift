import ThingLogCore
import ThingLogStore
import ThingLogExport

/// The nightly report as one self-contained HTML page (SPEC §4 `report`): inline CSS and SVG, no scripts, no
/// network references; every string that came from a device is escaped. Readable on screen and on paper.
struct ReportPage {
    let day: ReportDay
    let devices: [DeviceReport]
    let generatedAt: Int64
    let windowName: String?
    /// Messages quarantined during the day, by reason.
    let rejects: [(reason: String, count: Int)]
    /// Per device × rule with an alarm starting this day (SPEC §4 "alarm health").
    let alarmHealth: [AlarmHealth.Row]
    /// Datasheet ranges of the ppm series (`SENSOR.GAS`): values beyond them are shown clamped and marked.
    let ppmRanges: [String: ClosedRange<Double>]

    static let style = """
        body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#222;margin:24px auto;
        max-width:1400px;padding:0 16px}
        h1{font-size:22px;margin:0 0 4px}
        h2{font-size:18px;margin:28px 0 6px;border-bottom:1px solid #ccc;padding-bottom:4px}
        .meta{color:#555;margin:0 0 12px}
        .note{background:#fff8e1;border-left:4px solid #e6a700;padding:8px 12px;margin:12px 0}
        table{border-collapse:collapse;margin:8px 0 12px;font-variant-numeric:tabular-nums}
        th,td{border-bottom:1px solid #e3e3e3;padding:3px 10px;text-align:left;vertical-align:top}
        th{background:#f4f4f4;font-weight:600}td.n{text-align:right}
        .critical{color:#b71c1c;font-weight:600}.warning{color:#c25e00;font-weight:600}.info{color:#7a6500}
        .charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(480px,1fr));gap:10px 18px}
        figure{margin:0;break-inside:avoid}figcaption{font-size:13px;font-weight:600;margin:2px 0}
        figcaption .unit{font-weight:400;color:#666}.legend{font-size:12px;color:#444}
        .legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 10px;vertical-align:middle}
        svg.chart{width:100%;height:auto;display:block}
        svg.chart text{font-size:10px;fill:#555}svg.chart .grid{stroke:#e6e6e6;stroke-width:1}
        svg.chart .frame{fill:none;stroke:#999;stroke-width:1}
        svg.chart .threshold{stroke:#b71c1c;stroke-width:1;stroke-dasharray:4 3}svg.chart .threshold-label{fill:#b71c1c}
        svg.chart .valid{fill:#2ca02c;opacity:0.07}svg.chart .extrapolated{stroke-dasharray:2 2;opacity:0.8}
        svg.spark{display:block}
        section.device{break-before:auto}details summary{cursor:pointer;color:#1f4e9c;margin:4px 0}
        @media print{body{margin:0;max-width:none;font-size:11px}.charts{grid-template-columns:repeat(2,1fr)}
        h2{break-after:avoid}table{break-inside:auto}tr{break-inside:avoid}}
        """

    /// More devices than this make the report a fleet overview linking to one page per device.
    static let fleetThreshold = 25
    var isFleet: Bool { devices.count > Self.fleetThreshold }

    /// The main page: with few devices everything on it; for a fleet an overview (`fleetOverview`) whose device
    /// pages come from `devicePage`.
    func html() -> String {
        var out = pageStart(title: "thinglog report \(day.name)", heading: "Environment report — \(day.name)",
                            devices: "\(devices.count) devices")
        out += (isFleet ? fleetOverview() : overview()) + alarmTable() + alarmHealthSection()
        if !isFleet { for device in devices { out += section(device) } }
        return out + "</body></html>\n"
    }

    /// The document head, title and the notes every page carries.
    func pageStart(title: String, heading: String, devices: String) -> String {
        let zone = htmlEscaped(day.zoneName)
        return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            + "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            + "<title>\(htmlEscaped(title))</title><style>\(Self.style)</style></head><body>\n"
            + "<h1>\(htmlEscaped(heading))</h1>\n"
            + "<p class=\"meta\">Local day \(day.name) in \(zone) (\(Timestamp.iso8601(day.start)) to "
            + "\(Timestamp.iso8601(day.end)) UTC). \(htmlEscaped(devices)). Times below are local. "
            + "Generated \(Timestamp.iso8601(generatedAt)) by thinglog.</p>\n"
            + "<p class=\"note\">MQ gas sensors are not certified gas detectors: every ppm value here is an "
            + "estimate from an uncertified sensor, its calibration and datasheet curves. Use it for trends and "
            + "early warning, not for safety or compliance decisions.</p>\n"
    }

    /// The critical, warning and info alarm counts as table cells, highlighted when not zero.
    func alarmCells(_ device: DeviceReport) -> String {
        let counts = alarmCounts(device)
        func cell(_ count: Int, _ kind: String) -> String {
            "<td class=\"n\(count > 0 ? " " + kind : "")\">\(count)</td>"
        }
        return cell(counts.critical, "critical") + cell(counts.warning, "warning") + cell(counts.info, "info")
    }

    func alarmCounts(_ device: DeviceReport) -> (critical: Int, warning: Int, info: Int) {
        var counts = (critical: 0, warning: 0, info: 0)
        for row in device.alarms {
            switch row[Alarm.severity] {
            case .text("critical"): counts.critical += 1
            case .text("warning"): counts.warning += 1
            default: counts.info += 1
            }
        }
        return counts
    }

    private func overview() -> String {
        guard !devices.isEmpty else {
            return "<h2>Overview</h2><p>No device had reported by the end of this day.</p>\n"
        }
        var out = "<h2>Overview</h2><table><tr><th>device</th><th>reports</th><th>coverage</th><th>first</th>"
            + "<th>last</th><th>critical</th><th>warning</th><th>info</th></tr>\n"
        for device in devices {
            out += "<tr><td><a href=\"\(link(to: device.device))\">\(htmlEscaped(device.label))</a></td>"
                + "<td class=\"n\">\(device.reports)</td><td class=\"n\">\(percent(device.coverage))</td>"
                + "<td>\(device.firstReport.map(day.clock) ?? "–")</td>"
                + "<td>\(device.lastReport.map(day.clock) ?? "–")</td>" + alarmCells(device)
                + "</tr>\n"
        }
        out += "</table>\n" + quarantineNote()
        return out
    }

    func quarantineNote() -> String {
        var out = ""
        if rejects.isEmpty {
            out += "<p class=\"meta\">No message was quarantined this day.</p>\n"
        } else {
            out += "<p class=\"meta\">Quarantined this day (see rejects_v): "
                + rejects.map { "\(htmlEscaped($0.reason)) \($0.count)" }.joined(separator: ", ") + ".</p>\n"
        }
        return out
    }

    private func alarmTable() -> String {
        let rows = devices.flatMap { device in device.alarms }
            .sorted { time($0[Alarm.startedAt]) ?? 0 < time($1[Alarm.startedAt]) ?? 0 }
        var out = "<h2>Alarms</h2>"
        guard !rows.isEmpty else { return out + "<p>No alarms this day.</p>\n" }
        // One line per device and rule first (noisy sensors raise many short alarms near a threshold) ...
        // Names are grouped and ordered as bytes: `café` and `cafe\u{301}` are two devices (SPEC §5).
        var groups: [(device: String, rule: String, rows: [[ExportValue]])] = []
        func key(_ row: [ExportValue]) -> [UInt8] {
            Array(deviceLabel(row).utf8) + [0] + Array((text(row[Alarm.rule]) ?? "").utf8)
        }
        let byDeviceAndRule = rows.map { (key($0), $0) }.sorted { $0.0.lexicographicallyPrecedes($1.0) }
        var lastKey: [UInt8]?
        for (rowKey, row) in byDeviceAndRule {
            if rowKey == lastKey {
                groups[groups.count - 1].rows.append(row)
            } else {
                groups.append((deviceLabel(row), text(row[Alarm.rule]) ?? "", [row]))
                lastKey = rowKey
            }
        }
        out += "<table><tr><th>device</th><th>rule</th><th>severity</th><th>series</th><th>alarms</th><th>first</th>"
            + "<th>last ended</th><th>total time</th><th>peak</th><th>threshold</th></tr>\n"
        for group in groups {
            let first = group.rows[0], severity = text(first[Alarm.severity]) ?? ""
            let total = group.rows.reduce(0.0) { sum, row in
                if case .number(let seconds) = row[Alarm.duration] { sum + seconds } else { sum }
            }
            let peaks = group.rows.compactMap { row -> Double? in
                if case .number(let peak) = row[Alarm.peak] { peak } else { nil }
            }
            let open = group.rows.contains { time($0[Alarm.endedAt]) == nil }
            let lastEnd = group.rows.compactMap { time($0[Alarm.endedAt]) }.max()
            out += "<tr><td>\(htmlEscaped(group.device))</td><td>\(htmlEscaped(group.rule))</td>"
                + "<td class=\"\(htmlEscaped(severity))\">\(htmlEscaped(severity))</td>"
                + "<td>\(htmlEscaped(text(first[Alarm.metric]) ?? "–"))</td><td class=\"n\">\(group.rows.count)</td>"
                + "<td>\(clock(first[Alarm.startedAt]))</td>"
                + "<td>\(open ? "still active" : lastEnd.map(day.clock) ?? "–")</td>"
                + "<td class=\"n\">\(duration(.number(total)))</td>"
                + "<td class=\"n\">\(peaks.max().map { measured(.number($0), series: first[Alarm.metric]) } ?? "–")"
                + "</td>"
                + "<td class=\"n\">\(number(first[Alarm.threshold]))</td></tr>\n"
        }
        out += "</table>\n"
        // ... then every alarm, folded (a <details> element: no script needed).
        out += "<details><summary>All \(rows.count) alarms in time order</summary>"
            + "<table><tr><th>started</th><th>device</th><th>rule</th><th>severity</th><th>series</th>"
            + "<th>fired</th><th>ended</th><th>duration</th><th>peak</th><th>threshold</th></tr>\n"
        for row in rows {
            let severity = text(row[Alarm.severity]) ?? ""
            out += "<tr><td>\(clock(row[Alarm.startedAt]))</td><td>\(htmlEscaped(deviceLabel(row)))</td>"
                + "<td>\(htmlEscaped(text(row[Alarm.rule]) ?? ""))</td>"
                + "<td class=\"\(htmlEscaped(severity))\">\(htmlEscaped(severity))</td>"
                + "<td>\(htmlEscaped(text(row[Alarm.metric]) ?? "–"))</td><td>\(clock(row[Alarm.firedAt]))</td>"
                + "<td>\(time(row[Alarm.endedAt]) == nil ? "still active" : clock(row[Alarm.endedAt]))</td>"
                + "<td class=\"n\">\(duration(row[Alarm.duration]))</td>"
                + "<td class=\"n\">\(measured(row[Alarm.peak], series: row[Alarm.metric]))</td>"
                + "<td class=\"n\">\(number(row[Alarm.threshold]))</td></tr>\n"
        }
        return out + "</table></details>\n"
    }

    func section(_ device: DeviceReport) -> String {
        var out = "<section class=\"device\"><h2 id=\"\(anchor(device.identity))\">\(htmlEscaped(device.label))</h2>"
        out += "<p class=\"meta\">\(device.reports) reports"
        if let coverage = device.coverage { out += ", coverage \(percent(coverage))" }
        if let first = device.firstReport, let last = device.lastReport {
            out += ", \(day.clock(first))–\(day.clock(last))"
        }
        let counts = alarmCounts(device)
        out += ", alarms: \(counts.critical) critical, \(counts.warning) warning, \(counts.info) info. "
        if let windowName { out += "Lines: \(htmlEscaped(windowName)) rolling mean; bands: min–max per 10 minutes. " }
        out += "Shaded: alarm periods (grey: device offline)."
        if device.unchartedSeries > 0 {
            out += " \(device.unchartedSeries) more series are not charted; the table below lists them all."
        }
        out += "</p>\n<div class=\"charts\">"
        for chart in device.charts {
            out += "<figure><figcaption>\(htmlEscaped(chart.title)) <span class=\"unit\">"
                + "\(htmlEscaped(chart.unit))\(chart.logarithmic ? ", log scale" : "")</span>"
            if chart.series.count > 1 {
                out += "<div class=\"legend\">" + chart.series.map {
                    "<span style=\"background:\($0.color)\"></span>\(htmlEscaped($0.name))"
                }.joined() + "</div>"
            }
            out += "</figcaption>" + chart.svg(day: day) + "</figure>"
        }
        out += "</div>"
        if !device.summary.isEmpty {
            out += "<table><tr><th>series</th><th>count</th><th>min</th><th>max</th><th>mean</th><th>stddev</th></tr>\n"
            for row in device.summary {
                let series = row[Summary.metric]
                let extrapolated = [row[Summary.min], row[Summary.max]].contains { isBeyondRange($0, series: series) }
                out += "<tr><td>\(htmlEscaped(text(series) ?? ""))</td>"
                    + "<td class=\"n\">\(number(row[Summary.count]))</td>"
                    + "<td class=\"n\">\(measured(row[Summary.min], series: series))</td>"
                    + "<td class=\"n\">\(measured(row[Summary.max], series: series))</td>"
                    + "<td class=\"n\">\(measured(row[Summary.mean], series: series))</td>"
                    + "<td class=\"n\">\(extrapolated ? "–" : number(row[Summary.stddev]))</td></tr>\n"
            }
            out += "</table>"
        }
        return out + "</section>\n"
    }

    /// How a device is named on the page: `NAME (PRODUCT)`.
    private func deviceLabel(_ row: [ExportValue]) -> String {
        DeviceReport.label(product: text(row[Alarm.product]) ?? "", name: text(row[Alarm.device]) ?? "")
    }

    /// A fragment id made only of safe characters, unique per device (`PRODUCT/NAME`, as bytes).
    func anchor(_ identity: String) -> String {
        "d-" + hexString(Array(SHA256.hash(Array(identity.utf8)).prefix(6)))
    }

    /// Positions of the `alarms` and `summary` export columns the page reads (SPEC §4 `export`).
    private enum Alarm {
        static let product = ExportKind.alarms.index(of: "product"), device = ExportKind.alarms.index(of: "device")
        static let rule = ExportKind.alarms.index(of: "rule"), severity = ExportKind.alarms.index(of: "severity")
        static let metric = ExportKind.alarms.index(of: "metric")
        static let startedAt = ExportKind.alarms.index(of: "started_at")
        static let firedAt = ExportKind.alarms.index(of: "fired_at"), endedAt = ExportKind.alarms.index(of: "ended_at")
        static let duration = ExportKind.alarms.index(of: "duration_s"), peak = ExportKind.alarms.index(of: "peak")
        static let threshold = ExportKind.alarms.index(of: "threshold")
    }

    private enum Summary {
        static let metric = ExportKind.summary.index(of: "metric"), count = ExportKind.summary.index(of: "count")
        static let min = ExportKind.summary.index(of: "min"), max = ExportKind.summary.index(of: "max")
        static let mean = ExportKind.summary.index(of: "mean"), stddev = ExportKind.summary.index(of: "stddev")
    }

    private func text(_ value: ExportValue) -> String? { if case .text(let text) = value { text } else { nil } }
    private func time(_ value: ExportValue) -> Int64? { if case .timestamp(let time) = value { time } else { nil } }
    private func clock(_ value: ExportValue) -> String { time(value).map(day.clock) ?? "–" }
    func percent(_ value: Double?) -> String {
        value.map { Formatting.fixed($0 * 100, digits: 1) + " %" } ?? "–"
    }

    private func number(_ value: ExportValue) -> String {
        guard case .number(let number) = value, number.isFinite else { return "–" }
        if abs(number) >= 1e9 { return cFormat("%.3g", number) }
        if number == number.rounded() { return String(Int64(number)) }
        let digits = abs(number) >= 100 ? 1 : abs(number) >= 1 ? 2 : 4
        return Formatting.fixed(number, digits: digits)
    }

    /// The datasheet range of a ppm series named by a summary row or an alarm (`MQ7.CO`, `MQ7.CO@5m`).
    private func range(of series: ExportValue) -> ClosedRange<Double>? {
        guard let name = text(series) else { return nil }
        return ppmRanges[String(name.split(separator: "@", maxSplits: 1).first ?? "")]
    }

    private func isBeyondRange(_ value: ExportValue, series: ExportValue) -> Bool {
        guard case .number(let number) = value, let range = range(of: series) else { return false }
        return !range.contains(number)
    }

    /// A value as people read it: a ppm estimate beyond its curve's datasheet range is shown clamped to the range
    /// edge and marked (`> 10000`, `< 200`), as a meter shows over-range (SPEC §6); HTML-escaped.
    private func measured(_ value: ExportValue, series: ExportValue) -> String {
        guard case .number(let amount) = value, let range = range(of: series), !range.contains(amount) else {
            return number(value)
        }
        let edge = amount > range.upperBound ? "> " + number(.number(range.upperBound))
                                             : "< " + number(.number(range.lowerBound))
        return "<span title=\"beyond the datasheet range: extrapolated\">\(htmlEscaped(edge))</span>"
    }

    private func duration(_ value: ExportValue) -> String {
        guard case .number(let seconds) = value else { return "–" }
        let minutes = Int64(seconds / 60)
        if minutes >= 60 { return "\(minutes / 60) h \(minutes % 60) min" }
        return minutes > 0 ? "\(minutes) min" : "\(Int64(seconds)) s"
    }
}
