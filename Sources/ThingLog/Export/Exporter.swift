import Foundation

/// What `export` writes (SPEC §4): the kinds, their columns in order, and how rows stream out of the store.
public enum ExportKind: String, CaseIterable, Sendable {
    case readings, ppm, alarms, summary

    public var columns: [String] {
        switch self {
        case .readings: ["device", "metric", "ts", "value"]
        case .ppm: ["device", "sensor", "gas", "ts", "ppm", "rs_r0", "quality"]
        case .alarms: ["id", "device", "rule", "severity", "metric", "started_at", "fired_at", "ended_at", "duration_s",
                       "peak", "peak_at", "threshold"]
        case .summary: ["device", "metric", "count", "min", "max", "mean", "stddev", "first_ts", "last_ts"]
        }
    }
}

/// One exported value: text, a number, a timestamp (written as ISO 8601 UTC with milliseconds) or empty.
public enum ExportValue: Sendable, Equatable {
    case text(String)
    case number(Double)
    case timestamp(Int64)
    case empty

    var csv: String? {
        switch self {
        case .text(let text): text
        case .number(let number): NumberFormatting.shortest(number)
        case .timestamp(let ms): Timestamp.iso8601(ms)
        case .empty: nil
        }
    }

    var json: String {
        switch self {
        case .text(let text): JSONWriter.quoted(text)
        case .number(let number): JSONWriter.number(number)
        case .timestamp(let ms): JSONWriter.quoted(Timestamp.iso8601(ms))
        case .empty: "null"
        }
    }
}

/// Filters shared by every kind: a half-open time range and device / metric lists (empty: all).
public struct ExportFilter: Sendable {
    public var from: Int64?
    public var to: Int64?
    public var devices: [String] = []
    public var metrics: [String] = []

    public init(from: Int64? = nil, to: Int64? = nil, devices: [String] = [], metrics: [String] = []) {
        self.from = from
        self.to = to
        self.devices = devices
        self.metrics = metrics
    }

    /// SQL conditions and their bound values, for a time column and the columns that name devices and metrics.
    func conditions(time: String, device: String, metric: String) -> (sql: String, values: [SQLiteValue]) {
        var parts: [String] = []
        var values: [SQLiteValue] = []
        if let from { parts.append("\(time) >= ?"); values.append(.integer(from)) }
        if let to { parts.append("\(time) < ?"); values.append(.integer(to)) }
        if !devices.isEmpty {
            parts.append("\(device) IN (" + devices.map { _ in "?" }.joined(separator: ", ") + ")")
            values += devices.map(SQLiteValue.text)
        }
        if !metrics.isEmpty {
            parts.append("\(metric) IN (" + metrics.map { _ in "?" }.joined(separator: ", ") + ")")
            values += metrics.map(SQLiteValue.text)
        }
        return (parts.isEmpty ? "1" : parts.joined(separator: " AND "), values)
    }
}

/// Streams the rows of one kind from the store, ordered by device, then metric/sensor/gas (or rule), then time.
public struct Exporter {
    public let database: Database

    public init(database: Database) {
        self.database = database
    }

    public func forEachRow(_ kind: ExportKind, filter: ExportFilter, _ body: ([ExportValue]) throws -> Void) throws {
        switch kind {
        case .readings:
            let (conditions, values) = filter.conditions(time: "ts", device: "device", metric: "metric")
            try rows("SELECT device, metric, ts, value FROM readings_v WHERE \(conditions) ORDER BY device, metric, ts",
                     values) { s in
                try body([.text(s.string(0)), .text(s.string(1)), .timestamp(s.int64(2)), .number(s.double(3))])
            }
        case .ppm:
            let (conditions, values) = filter.conditions(time: "ts", device: "device", metric: "sensor || '.' || gas")
            try rows("""
                SELECT device, sensor, gas, ts, ppm, rs_r0, quality FROM ppm_v WHERE \(conditions)
                ORDER BY device, sensor, gas, ts
                """, values) { s in
                try body([.text(s.string(0)), .text(s.string(1)), .text(s.string(2)), .timestamp(s.int64(3)),
                          s.isNull(4) ? .empty : .number(s.double(4)), s.isNull(5) ? .empty : .number(s.double(5)),
                          .text(s.string(6))])
            }
        case .alarms:
            // Every alarm whose [started_at, ended_at) overlaps the range; an open alarm extends to the end.
            var range = ExportFilter(devices: filter.devices, metrics: filter.metrics)
                .conditions(time: "started_at", device: "device", metric: "metric")
            if let to = filter.to { range.sql += " AND started_at < ?"; range.values.append(.integer(to)) }
            if let from = filter.from {
                range.sql += " AND (ended_at IS NULL OR ended_at > ?)"
                range.values.append(.integer(from))
            }
            try rows("""
                SELECT id, device, rule, severity, metric, started_at, fired_at, ended_at, duration_s, peak, peak_at,
                       threshold
                FROM alarms_v WHERE \(range.sql) ORDER BY device, rule, started_at
                """, range.values) { s in
                func optional(_ index: Int, _ make: (Int) -> ExportValue) -> ExportValue { s.isNull(index) ? .empty : make(index) }
                try body([.text(s.string(0)), .text(s.string(1)), .text(s.string(2)), .text(s.string(3)),
                          optional(4) { .text(s.string($0)) }, .timestamp(s.int64(5)), .timestamp(s.int64(6)),
                          optional(7) { .timestamp(s.int64($0)) }, .number(s.double(8)),
                          optional(9) { .number(s.double($0)) }, optional(10) { .timestamp(s.int64($0)) },
                          optional(11) { .number(s.double($0)) }])
            }
        case .summary:
            try summary(filter: filter, body)
        }
    }

    /// Per device and series (raw metrics and ppm series like `MQ7.CO`): count, min, max, mean, sample standard
    /// deviation (Welford, so long series stay exact), first and last time.
    private func summary(filter: ExportFilter, _ body: ([ExportValue]) throws -> Void) throws {
        let raw = filter.conditions(time: "ts", device: "device", metric: "metric")
        let ppm = filter.conditions(time: "ts", device: "device", metric: "sensor || '.' || gas")
        var current: (device: String, metric: String)?
        var count = 0, mean = 0.0, squares = 0.0, minimum = 0.0, maximum = 0.0
        var first: Int64 = 0, last: Int64 = 0
        func flush() throws {
            guard let series = current else { return }
            try body([.text(series.device), .text(series.metric), .number(Double(count)), .number(minimum),
                      .number(maximum), .number(mean), count > 1 ? .number((squares / Double(count - 1)).squareRoot()) : .empty,
                      .timestamp(first), .timestamp(last)])
        }
        try rows("""
            SELECT device, metric, ts, value FROM (
                SELECT device, metric, ts, value FROM readings_v WHERE \(raw.sql)
                UNION ALL
                SELECT device, sensor || '.' || gas, ts, ppm FROM ppm_v WHERE \(ppm.sql) AND ppm IS NOT NULL
            ) ORDER BY device, metric, ts
            """, raw.values + ppm.values) { s in
            let device = s.string(0), metric = s.string(1), ts = s.int64(2), value = s.double(3)
            if current?.device != device || current?.metric != metric {
                try flush()
                current = (device, metric)
                count = 0; mean = 0; squares = 0; minimum = value; maximum = value; first = ts
            }
            count += 1
            let delta = value - mean
            mean += delta / Double(count)
            squares += delta * (value - mean)
            minimum = min(minimum, value)
            maximum = max(maximum, value)
            last = ts
        }
        try flush()
    }

    private func rows(_ sql: String, _ values: [SQLiteValue], _ body: (Statement) throws -> Void) throws {
        let statement = try database.prepare(sql)
        try statement.bind(values)
        try statement.forEachRow(body)
    }
}
