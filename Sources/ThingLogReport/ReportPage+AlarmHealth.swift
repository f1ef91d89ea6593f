import ThingLogCore
import ThingLogStore
import ThingLogExport

/// The report's alarm-health section (SPEC §4, after EEMUA 191 / ISA-18.2): per rule, then the ten device × rules
/// with the most alarms ("bad actors"), each linking to its device's charts, worst first, so an operator sees which
/// thresholds need `for`, `clear` or `clear_for` tuning.
extension ReportPage {
    func alarmHealthSection() -> String {
        guard !alarmHealth.isEmpty else { return "" }
        let deviceDays = max(devices.count, 1)
        var out = "<h2>Alarm health</h2><p class=\"meta\">Chattering: three or more alarms of one device and rule, "
            + "each starting within 10 minutes of the previous one. Standing: active for more than 24 h at the end of "
            + "the day. Active: share of the day the rule was active, over \(devices.count) devices.</p>\n"
        out += "<table><tr><th>rule</th><th>severity</th><th>alarms</th><th>per device-day</th>"
            + "<th>chattering episodes</th><th>standing</th><th>active</th></tr>\n"
        var byRule: [String: [AlarmHealth.Row]] = [:]
        for row in alarmHealth { byRule[row.rule, default: []].append(row) }
        let rules = byRule.map { rule, rows in
            (rule: rule, severity: rows.last?.severity ?? "", alarms: rows.reduce(0) { $0 + $1.alarms },
             chattering: rows.reduce(0) { $0 + $1.chatteringEpisodes }, standing: rows.filter(\.standing).count,
             active: rows.reduce(0.0) { $0 + $1.activeShare } / Double(deviceDays))
        }.sorted { ($0.alarms, $0.chattering, $1.rule) > ($1.alarms, $1.chattering, $0.rule) }
        for rule in rules {
            out += "<tr><td>\(htmlEscaped(rule.rule))</td><td class=\"\(Self.severityClass(rule.severity))\">"
                + "\(htmlEscaped(rule.severity))</td><td class=\"n\">\(rule.alarms)</td>"
                + "<td class=\"n\">\(Formatting.fixed(Double(rule.alarms) / Double(deviceDays), digits: 2))</td>"
                + "<td class=\"n\">\(rule.chattering)</td><td class=\"n\">\(rule.standing)</td>"
                + "<td class=\"n\">\(Formatting.fixed(rule.active * 100, digits: 1)) %</td></tr>\n"
        }
        out += "</table>\n<table><tr><th>bad actor</th><th>rule</th><th>alarms</th><th>chattering episodes</th>"
            + "<th>standing</th><th>active</th></tr>\n"
        let worst = alarmHealth.sorted { lhs, rhs in
            (lhs.alarms, lhs.chatteringEpisodes, rhs.device, rhs.rule)
                > (rhs.alarms, rhs.chatteringEpisodes, lhs.device, lhs.rule)
        }.prefix(10)
        for row in worst {
            let label = DeviceReport.label(product: row.product, name: row.device)
            let device = StoredDevice(id: 0, product: row.product, name: row.device)
            out += "<tr><td><a href=\"\(link(to: device))\">\(htmlEscaped(label))</a></td>"
                + "<td>\(htmlEscaped(row.rule))</td><td class=\"n\">\(row.alarms)</td>"
                + "<td class=\"n\">\(row.chatteringEpisodes)</td><td class=\"n\">\(row.standing ? "yes" : "")</td>"
                + "<td class=\"n\">\(Formatting.fixed(row.activeShare * 100, digits: 1)) %</td></tr>\n"
        }
        return out + "</table>\n"
    }

    /// The CSS class of a severity (the known ones only: a device cannot inject a class name).
    static func severityClass(_ severity: String) -> String {
        ["critical", "warning", "info"].contains(severity) ? severity : ""
    }
}
