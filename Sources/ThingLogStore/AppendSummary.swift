import ThingLogCore

/// What one or more transactions did to the store.
public struct AppendSummary: Sendable, Equatable {
    public var reports = 0
    public var readings = 0
    /// Readings ignored as duplicates, including every reading of a report recognised as a duplicate.
    public var duplicateReadings = 0
    /// Whole reports ignored as redeliveries or as records ingested twice.
    public var duplicateReports = 0
    public var rejects: [RejectReason: Int] = [:]
    public var outOfRangeReadings = 0
    public var unknownPropertyReadings = 0
    /// Readings of accepted reports left out, by reason (SPEC §5).
    public var dropped: [DropReason: Int] = [:]

    public init() {}

    public var rejectCount: Int { rejects.values.reduce(0, +) }

    /// Messages handled: stored, duplicate or rejected.
    public var messageCount: Int { reports + duplicateReports + rejectCount }

    public mutating func add(_ other: AppendSummary) {
        reports += other.reports
        readings += other.readings
        duplicateReadings += other.duplicateReadings
        duplicateReports += other.duplicateReports
        outOfRangeReadings += other.outOfRangeReadings
        unknownPropertyReadings += other.unknownPropertyReadings
        rejects.merge(other.rejects, uniquingKeysWith: +)
        dropped.merge(other.dropped, uniquingKeysWith: +)
    }
}

extension Metrics {
    /// Counts one committed batch of `source` (`mqtt`, `http`, `file`).
    public func recordCommit(source: String, summary: AppendSummary, seconds: Double, now: Int64) {
        recordCommit(source: source, reports: summary.reports, duplicates: summary.duplicateReports,
                     rejects: Dictionary(uniqueKeysWithValues: summary.rejects.map { ($0.key.rawValue, $0.value) }),
                     readings: summary.readings, seconds: seconds, now: now)
    }
}
