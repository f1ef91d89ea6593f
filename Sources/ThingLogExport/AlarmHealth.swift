import ThingLogStore

/// The alarm-health numbers of SPEC §4 (the EEMUA 191 / ISA-18.2 view of an alarm system), per device × rule with an
/// alarm starting in the range: how many alarms, how many chattering episodes, whether one is standing at the
/// range's end, and the share of the range it was active. Pure: stored alarms in, rows out.
public enum AlarmHealth {
    /// Alarms starting within this long of the previous one's start chatter.
    public static let chatterWindow: Int64 = 10 * 60_000
    /// A chattering episode holds at least this many alarms.
    public static let chatterRun = 3
    /// An alarm active for longer than this at the range's end is standing.
    public static let standingAfter: Int64 = 24 * 3_600_000

    /// One device × rule.
    public struct Row: Sendable, Equatable {
        public var product: String
        public var device: String
        public var rule: String
        public var severity: String
        public var alarms: Int
        public var chatteringEpisodes: Int
        public var standing: Bool
        public var activeShare: Double
    }

    /// The rows for alarms overlapping [from, to), in product, device, rule order. `alarms` must be in that order and
    /// by start within each device × rule (as the store reads them). An alarm still active counts as active up to
    /// `to`.
    public static func rows(_ alarms: [StoredAlarm], from: Int64, to: Int64) -> [Row] {
        var rows: [Row] = []
        var start = alarms.startIndex
        while start < alarms.endIndex {
            let first = alarms[start]
            var end = start + 1
            while end < alarms.endIndex, alarms[end].product == first.product, alarms[end].device == first.device,
                  alarms[end].rule == first.rule { end += 1 }
            if let row = row(for: alarms[start..<end], from: from, to: to) { rows.append(row) }
            start = end
        }
        return rows
    }

    private static func row(for group: ArraySlice<StoredAlarm>, from: Int64, to: Int64) -> Row? {
        guard let first = group.first else { return nil }
        let starting = group.filter { $0.startedAt >= from && $0.startedAt < to }
        guard !starting.isEmpty else { return nil }
        var episodes = 0, run = 1
        for (previous, next) in zip(starting, starting.dropFirst()) {
            if next.startedAt - previous.startedAt <= chatterWindow {
                run += 1
            } else {
                if run >= chatterRun { episodes += 1 }
                run = 1
            }
        }
        if run >= chatterRun { episodes += 1 }
        let standing = group.contains { alarm in
            alarm.startedAt < to && (alarm.endedAt.map { $0 > to } ?? true) && to - alarm.startedAt > standingAfter
        }
        var active: Int64 = 0
        for alarm in group {
            let lower = max(alarm.startedAt, from), upper = min(alarm.endedAt ?? to, to)
            if upper > lower { active += upper - lower }
        }
        return Row(product: first.product, device: first.device, rule: first.rule,
                   severity: starting.last?.severity ?? first.severity, alarms: starting.count,
                   chatteringEpisodes: episodes, standing: standing,
                   activeShare: to > from ? Double(active) / Double(to - from) : 0)
    }
}
