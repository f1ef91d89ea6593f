import ThingLogCore
import ThingLogStore

/// The report for a fleet (more than `fleetThreshold` devices, issue #12): `report.html` is an overview, devices
/// with alarms first, then by coverage, each with a sparkline and a link to its own self-contained page in
/// `devices/`, so the main page stays small however many devices report.
extension ReportPage {
    /// Where a device's charts are: its section on the page, or its own page for a fleet.
    func link(to device: StoredDevice) -> String {
        isFleet ? "devices/" + Self.fileName(of: device) : "#" + anchor(device.identity)
    }

    /// A file name that is safe on any file system and unique per device: the name's letters, digits, `-`, `_`
    /// and `.` (others become `_`, at most 40 of them), then a hash of `PRODUCT/NAME` (as bytes), so names that
    /// differ only in what was replaced, or only in their product, never share a file.
    static func fileName(of device: StoredDevice) -> String {
        let safe = device.name.unicodeScalars.prefix(40).map { scalar -> String in
            scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || "-_.".unicodeScalars
                .contains(scalar)) ? String(scalar) : "_"
        }.joined()
        let hash = hexString(Array(SHA256.hash(Array(device.identity.utf8)).prefix(6)))
        return (safe.hasPrefix(".") ? "_" + safe.dropFirst() : safe) + "-" + hash + ".html"
    }

    /// Devices in the overview's order: most critical, warning, then info alarms; then lowest coverage; then name.
    var devicesByAttention: [DeviceReport] {
        devices.sorted { lhs, rhs in
            let left = alarmCounts(lhs), right = alarmCounts(rhs)
            if (left.critical, left.warning, left.info) != (right.critical, right.warning, right.info) {
                return (left.critical, left.warning, left.info) > (right.critical, right.warning, right.info)
            }
            if lhs.coverage != rhs.coverage { return (lhs.coverage ?? -1) < (rhs.coverage ?? -1) }
            return Array(lhs.identity.utf8).lexicographicallyPrecedes(Array(rhs.identity.utf8))
        }
    }

    func fleetOverview() -> String {
        var out = "<h2>Devices</h2><p class=\"meta\">\(devices.count) devices, those with alarms first, then by "
            + "coverage; each name opens the device's page with its charts and tables. Sparkline: the first "
            + "chart's rolling mean over the day.</p>\n"
        out += "<table><tr><th>device</th><th>day</th><th>reports</th><th>coverage</th><th>critical</th>"
            + "<th>warning</th><th>info</th></tr>\n"
        for device in devicesByAttention {
            out += "<tr><td><a href=\"\(link(to: device.device))\">\(htmlEscaped(device.label))</a></td>"
                + "<td>\(sparkline(device))</td><td class=\"n\">\(device.reports)</td>"
                + "<td class=\"n\">\(percent(device.coverage))</td>" + alarmCells(device) + "</tr>\n"
        }
        return out + "</table>\n" + quarantineNote()
    }

    /// A device's own page for a fleet report: self-contained like the main page, linking back to it.
    func devicePage(_ device: DeviceReport) -> String {
        pageStart(title: "thinglog report \(day.name) — \(device.label)",
                  heading: "\(device.label) — \(day.name)", devices: "One device of \(devices.count)")
            + "<p><a href=\"../report.html\">← fleet overview</a></p>\n" + section(device) + "</body></html>\n"
    }

    /// A small line of the device's first charted series over the day (no axes), or a dash.
    private func sparkline(_ device: DeviceReport) -> String {
        guard let series = device.charts.first?.series.first, series.line.count > 1 else { return "–" }
        let width = 120.0, height = 22.0
        let values = series.line.map { series.drawn($0.value) }.filter(\.isFinite)
        guard let low = values.min(), let high = values.max() else { return "–" }
        let span = Double(day.end - day.start)
        let points = series.line.compactMap { point -> String? in
            let value = series.drawn(point.value)
            guard value.isFinite else { return nil }
            let x = width * Double(point.time - day.start) / span
            let y = high > low ? (height - 2) * (1 - (value - low) / (high - low)) + 1 : height / 2
            return "\(coordinate(x)),\(coordinate(y))"
        }
        return "<svg class=\"spark\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" width=\"\(Int(width))\" "
            + "height=\"\(Int(height))\" role=\"img\" aria-label=\"\(htmlEscaped(series.name))\">"
            + "<polyline points=\"\(points.joined(separator: " "))\" fill=\"none\" stroke=\"\(series.color)\" "
            + "stroke-width=\"1\"/></svg>"
    }
}
