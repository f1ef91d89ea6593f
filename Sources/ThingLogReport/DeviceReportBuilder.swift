import ThingLogCore
import ThingLogStore
import ThingLogAnalysis
import ThingLogExport

/// Reads the day's data of each device from the store and shapes it for the page: every series reduced to a fixed
/// number of time buckets (min–max band and the rolling mean at the end of each bucket), ppm series grouped by
/// sensor, alarm periods and thresholds attached to the charts of the series they watch.
struct DeviceReportBuilder {
    let exporter: Exporter
    let configuration: Configuration
    let day: ReportDay
    /// Ten-minute buckets: 144 points a day, about three pixels each on a chart.
    static let buckets = 144
    /// Most charts drawn for one device.
    static let maximumCharts = 48

    /// The configured window whose length is nearest 15 minutes: the report's rolling mean.
    var meanWindow: RollingWindow? {
        configuration.windows.min { abs($0.milliseconds - 900_000) < abs($1.milliseconds - 900_000) }
    }

    static let gasColors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2"]
    static func severityColor(_ severity: String) -> String {
        switch severity {
        case "critical": "#d62728"
        case "warning": "#ff7f0e"
        default: "#d4b000"
        }
    }

    func build(device: StoredDevice) throws -> DeviceReport {
        var report = DeviceReport(device: device)
        let filter = ExportFilter(from: day.start, to: day.end, devices: [device.id])
        try exporter.forEachRow(.summary, filter: filter) { report.summary.append($0) }
        try exporter.forEachRow(.alarms, filter: filter) { report.alarms.append($0) }
        let series = try exporter.series(filter, raw: true, ppm: true)
        try coverage(of: series.filter { !$0.isPPM }, into: &report)

        let alarmSpans = report.alarms.map { row -> (metric: String?, span: Chart.Span) in
            func text(_ index: Int) -> String? { if case .text(let value) = row[index] { value } else { nil } }
            func time(_ index: Int) -> Int64? { if case .timestamp(let value) = row[index] { value } else { nil } }
            let columns = ExportKind.alarms
            let severity = text(columns.index(of: "severity")) ?? "info", rule = text(columns.index(of: "rule")) ?? ""
            let metric = text(columns.index(of: "metric"))
            let startedAt = time(columns.index(of: "started_at")), endedAt = time(columns.index(of: "ended_at"))
            let color = metric == nil ? "#7f7f7f" : Self.severityColor(severity)
            let start = startedAt ?? day.start, end = endedAt ?? day.end
            let label = "\(rule) (\(severity)) \(day.clock(start))–\(endedAt.map(day.clock) ?? "open")"
            let base = metric.map { String($0.split(separator: "@", maxSplits: 1)[0]) }
            return (base, Chart.Span(start: start, end: end, color: color, label: label))
        }
        func spans(_ matches: (String) -> Bool) -> [Chart.Span] {
            alarmSpans.filter { $0.metric.map(matches) ?? true }.map(\.span)
        }

        // Each configured sensor's raw chart next to its ppm chart, then the other metrics.
        let sensorKeys = configuration.sensors.map(\.key)
        let raws = series.filter { !$0.isPPM }
        let ordered = sensorKeys.compactMap { key in raws.first { $0.name == key } }
            + raws.filter { !sensorKeys.contains($0.name) }
        for raw in ordered {
            // A device can report up to `limits.series_per_device` metrics: chart the first ones (configured sensors
            // first), so the page stays readable and bounded; every series is still in the summary table.
            guard report.charts.count < Self.maximumCharts else {
                report.unchartedSeries += 1
                continue
            }
            let label = configuration.template?.labels[raw.name]?.name
            var chart = Chart(title: label.map { $0 == raw.name ? raw.name : "\(raw.name) · \($0)" } ?? raw.name,
                              unit: unit(of: raw.name))
            chart.series = [try reduce(raw, name: raw.name, color: "#1f4e9c")]
            chart.spans = spans { $0 == raw.name }
            report.charts.append(chart)
            let gases = series.filter { $0.isPPM && $0.sensor == raw.name }
            guard !gases.isEmpty else { continue }
            var ppm = Chart(title: "\(raw.name) ppm (estimate)", unit: "ppm", logarithmic: true)
            for (index, gas) in gases.enumerated() {
                var drawn = try reduce(gas, name: gas.gas, color: Self.gasColors[index % Self.gasColors.count])
                drawn.validRange = configuration.ppmRanges[gas.name]
                ppm.series.append(drawn)
            }
            ppm.spans = spans { $0.hasPrefix(raw.name + ".") }
            for rule in configuration.alarms {
                guard case .threshold(let name, let isAbove, let threshold, _, _, _) = rule.kind,
                      name.hasPrefix(raw.name + ".") else { continue }
                ppm.rules.append(Chart.Rule(value: threshold, label: "\(rule.name) \(isAbove ? ">" : "<") "
                                            + "\(AxisScale.label(threshold))"))
            }
            ppm.series = ppm.series.filter { !$0.line.isEmpty }
            if !ppm.series.isEmpty { report.charts.append(ppm) }
        }
        return report
    }

    private func unit(of metric: String) -> String {
        if let sensor = configuration.sensors.first(where: { $0.key == metric }) {
            switch sensor.input {
            case .adc: return "ADC counts"
            case .volts: return "V"
            case .percent: return "% of Vref"
            case .ohms: return "Ω"
            case .ratio: return "Rs/R0"
            }
        }
        if metric == configuration.compensation.temperatureProperty { return "°C" }
        if metric == configuration.compensation.humidityProperty { return "%RH" }
        return configuration.template?.labels[metric]?.unit ?? ""
    }

    /// A series over the day as buckets: the min–max band of the samples, and the rolling mean at each bucket's end.
    private func reduce(_ series: Exporter.Series, name: String, color: String) throws -> Chart.Series {
        var result = Chart.Series(name: name, color: color)
        var window = meanWindow.map(SeriesWindow.init(rolling:))
        let span = day.end - day.start
        var current: (index: Int, low: Double, high: Double, time: Int64, mean: Double)?
        func flush() {
            guard let bucket = current else { return }
            let start = day.start + span * Int64(bucket.index) / Int64(Self.buckets)
            let end = day.start + span * Int64(bucket.index + 1) / Int64(Self.buckets)
            result.band.append((start, end, bucket.low, bucket.high))
            result.line.append((bucket.time, bucket.mean))
        }
        let lookback = window?.lookbackMilliseconds ?? 0
        try exporter.samples(of: series, from: day.start - lookback, to: day.end) { time, value in
            let mean = window?.add(time: time, value: value).mean ?? value
            guard time >= day.start else { return }
            let index = Int((time - day.start) * Int64(Self.buckets) / span)
            if var bucket = current, bucket.index == index {
                bucket.low = min(bucket.low, value)
                bucket.high = max(bucket.high, value)
                bucket.time = time
                bucket.mean = mean
                current = bucket
            } else {
                flush()
                current = (index, value, value, time, mean)
            }
        }
        flush()
        if let meanWindow { result.name += " (\(meanWindow.name) mean)" }
        return result
    }

    /// Report count, first and last report of the day, and the count expected from the median interval.
    private func coverage(of series: [Exporter.Series], into report: inout DeviceReport) throws {
        let times = try exporter.store.sampleTimes(of: series, from: day.start, to: day.end)
        report.reports = times.count
        report.firstReport = times.first
        report.lastReport = times.last
        guard times.count >= 2 else { return }
        let intervals = zip(times, times.dropFirst()).map { $1 - $0 }.sorted()
        let median = intervals[intervals.count / 2]
        report.expectedReports = Int((day.end - day.start) / max(median, 1))
    }
}
