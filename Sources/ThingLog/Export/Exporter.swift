/// Streams the rows of one kind from the store, ordered by device, then metric/sensor/gas (or rule), then time.
///
/// Every series-based kind walks its series one by one along the `(series_id, ts)` primary key, so rows come out
/// in order without a sort and memory does not grow with the row count. Rolling windows and exposures are computed
/// here, as the rows stream, with the same code `analyze` uses for rules; feeding starts one lookback before the
/// range, so a row's value does not depend on the range asked for.
public struct Exporter {
    public let database: Database
    /// Rolling windows for the `rolling` kind.
    public let windows: [RollingWindow]

    public init(database: Database, windows: [RollingWindow] = []) {
        self.database = database
        self.windows = windows
    }

    /// One series to export: a raw metric, or a ppm series named `SENSOR.GAS`.
    struct Series {
        var product: String
        var device: String
        var name: String
        var sensor: String
        var gas: String
        var id: Int64
        var isPPM: Bool
    }

    /// The series the filter selects, raw and/or ppm, in export order.
    func series(_ filter: ExportFilter, raw: Bool, ppm: Bool, orderBySensorAndGas: Bool = false) throws -> [Series] {
        var parts: [String] = []
        var values: [SQLiteValue] = []
        if raw {
            let condition = filter.conditions(deviceID: "d.id", metric: "s.metric")
            parts.append("""
                SELECT d.product, d.name, s.metric, '', '', s.id, 0 FROM series s JOIN devices d ON d.id = s.device_id
                WHERE \(condition.sql)
                """)
            values += condition.values
        }
        if ppm {
            let condition = filter.conditions(deviceID: "d.id", metric: "p.sensor || '.' || p.gas")
            parts.append("""
                SELECT d.product, d.name, p.sensor || '.' || p.gas, p.sensor, p.gas, p.id, 1 FROM ppm_series p
                JOIN devices d ON d.id = p.device_id WHERE \(condition.sql)
                """)
            values += condition.values
        }
        let order = orderBySensorAndGas ? "1, 2, 4, 5" : "1, 2, 3"
        return try database.rows(parts.joined(separator: " UNION ALL ") + " ORDER BY \(order)", values).map { row in
            Series(product: row[0].stringValue ?? "", device: row[1].stringValue ?? "", name: row[2].stringValue ?? "",
                   sensor: row[3].stringValue ?? "", gas: row[4].stringValue ?? "", id: row[5].int64Value ?? 0,
                   isPPM: row[6] == .integer(1))
        }
    }

    /// The windows the `rolling` kind writes for a series: the configured ones, and for ppm series the exposures,
    /// narrowed to `--window` names.
    func rollingWindows(for series: Series, filter: ExportFilter) -> [SeriesWindow] {
        var all = windows.map(SeriesWindow.init(rolling:))
        if series.isPPM {
            all += SeriesWindow.exposures.map { SeriesWindow(exposureNamed: $0.name, milliseconds: $0.milliseconds) }
        }
        return filter.windows.isEmpty ? all : all.filter { filter.windows.contains($0.name) }
    }

    public func forEachRow(_ kind: ExportKind, filter: ExportFilter, _ body: ([ExportValue]) throws -> Void) throws {
        let from = filter.from ?? .min, to = filter.to ?? .max
        switch kind {
        case .readings:
            for series in try series(filter, raw: true, ppm: false) {
                let product = ExportValue.text(series.product), device = ExportValue.text(series.device)
                let metric = ExportValue.text(series.name)
                try samples(of: series, from: from, to: to) { time, value in
                    try body([product, device, metric, .timestamp(time), .number(value)])
                }
            }
        case .rolling:
            for series in try series(filter, raw: true, ppm: true) {
                let product = ExportValue.text(series.product), device = ExportValue.text(series.device)
                let metric = ExportValue.text(series.name)
                for var window in rollingWindows(for: series, filter: filter) {
                    let name = ExportValue.text(window.name)
                    let start = from == .min ? from : from &- window.lookbackMilliseconds
                    try samples(of: series, from: start, to: to) { time, value in
                        let result = window.add(time: time, value: value)
                        guard time >= from else { return }
                        try body([product, device, metric, name, .timestamp(time), .number(result.mean),
                                  .number(result.minimum), .number(result.maximum), .number(Double(result.count))])
                    }
                }
            }
        case .ppm:
            let statement = try database.prepare("""
                SELECT ts, ppm, rs_r0, quality FROM ppm WHERE series_id = ? AND ts >= ? AND ts < ? ORDER BY ts
                """)
            for series in try series(filter, raw: false, ppm: true, orderBySensorAndGas: true) {
                let product = ExportValue.text(series.product), device = ExportValue.text(series.device)
                let sensor = ExportValue.text(series.sensor)
                let gas = ExportValue.text(series.gas)
                try statement.bind([.integer(series.id), .integer(from), .integer(to)])
                try statement.forEachRow { s in
                    let quality = PPMQuality.allCases.first { $0.code == s.int64(3) } ?? .warmup
                    try body([product, device, sensor, gas, .timestamp(s.int64(0)),
                              s.isNull(1) ? .empty : .number(s.double(1)),
                              s.isNull(2) ? .empty : .number(s.double(2)), .text(quality.rawValue)])
                }
            }
        case .alarms:
            try alarms(filter: filter, body)
        case .summary:
            try summary(filter: filter, body)
        }
    }

    /// A series' samples with from ≤ ts < to in time order; for ppm series the usable estimates only.
    func samples(of series: Series, from: Int64, to: Int64, _ body: (Int64, Double) throws -> Void) throws {
        let statement = try database.cached(series.isPPM
            ? "SELECT ts, ppm FROM ppm WHERE series_id = ? AND ts >= ? AND ts < ? "
                + "AND quality <= \(PPMQuality.usableCodeLimit) AND ppm IS NOT NULL ORDER BY ts"
            : "SELECT ts, value FROM readings WHERE series_id = ? AND ts >= ? AND ts < ? ORDER BY ts")
        defer { statement.reset() }
        try statement.bind([.integer(series.id), .integer(from), .integer(to)])
        while try statement.step() { try body(statement.int64(0), statement.double(1)) }
    }

    /// Every alarm whose [started_at, ended_at) overlaps the range; an open alarm extends to the end.
    private func alarms(filter: ExportFilter, _ body: ([ExportValue]) throws -> Void) throws {
        var range = filter.conditions(deviceID: "a.device_id", metric: "a.metric")
        if let to = filter.to { range.sql += " AND a.started_at < ?"; range.values.append(.integer(to)) }
        if let from = filter.from {
            range.sql += " AND (a.ended_at IS NULL OR a.ended_at > ?)"
            range.values.append(.integer(from))
        }
        let statement = try database.prepare("""
            SELECT a.id, d.product, d.name, a.rule, a.severity, a.metric, a.started_at, a.fired_at, a.ended_at,
                   (COALESCE(a.ended_at, a.last_sample_at) - a.started_at) / 1000.0, a.peak, a.peak_at, a.threshold
            FROM alarms a JOIN devices d ON d.id = a.device_id WHERE \(range.sql)
            ORDER BY d.product, d.name, a.rule, a.started_at
            """)
        try statement.bind(range.values)
        try statement.forEachRow { s in
            func optional(_ index: Int, _ make: (Int) -> ExportValue) -> ExportValue {
                s.isNull(index) ? .empty : make(index)
            }
            try body([.text(s.string(0)), .text(s.string(1)), .text(s.string(2)), .text(s.string(3)),
                      .text(s.string(4)), optional(5) { .text(s.string($0)) }, .timestamp(s.int64(6)),
                      .timestamp(s.int64(7)), optional(8) { .timestamp(s.int64($0)) }, .number(s.double(9)),
                      optional(10) { .number(s.double($0)) }, optional(11) { .timestamp(s.int64($0)) },
                      optional(12) { .number(s.double($0)) }])
        }
    }

    /// Per device and series (raw metrics and usable ppm estimates of series like `MQ7.CO`): count, min, max, mean,
    /// sample standard deviation (Welford, so long series stay exact, and scaled, so extreme values do not
    /// overflow), first and last time.
    private func summary(filter: ExportFilter, _ body: ([ExportValue]) throws -> Void) throws {
        for series in try series(filter, raw: true, ppm: true) {
            var moments = RunningMoments()
            var first: Int64 = 0, last: Int64 = 0
            try samples(of: series, from: filter.from ?? .min, to: filter.to ?? .max) { time, value in
                if moments.count == 0 { first = time }
                moments.add(value)
                last = time
            }
            guard moments.count > 0 else { continue }
            let stddev: ExportValue = moments.sampleStandardDeviation.map(ExportValue.number) ?? .empty
            try body([.text(series.product), .text(series.device), .text(series.name),
                      .number(Double(moments.count)), .number(moments.minimum), .number(moments.maximum),
                      .number(moments.mean), stddev,
                      .timestamp(first), .timestamp(last)])
        }
    }
}
