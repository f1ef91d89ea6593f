import ThingLogCore

/// Typed reads of the store for export, report, calibrate and stats: series, samples in time order, ppm rows,
/// alarms, devices, rejects. Every scan walks a primary key or index in order, streaming rows to a closure, so memory
/// does not grow with history. Wraps one connection (read-only, or the writer's for `calibrate --save`).
public struct StoreReader {
    public let database: Database

    public init(database: Database) {
        self.database = database
    }

    /// Opens the store at `path` read-only (never creating it, SPEC §5).
    public static func open(path: String) throws -> StoreReader {
        StoreReader(database: try StoreConnection.openForReading(path: path))
    }

    /// Runs `body` in one read snapshot, so every read sees the same store.
    public func inSnapshot<T>(_ body: () throws -> T) throws -> T {
        try database.transaction(.readSnapshot, body)
    }

    /// Which devices and series a read covers: nil devices = every device, empty metrics = every series.
    public struct Selection: Sendable {
        public var devices: [Int64]?
        /// Raw metric names, or `SENSOR.GAS` for ppm series.
        public var metrics: [String]

        public init(devices: [Int64]? = nil, metrics: [String] = []) {
            self.devices = devices
            self.metrics = metrics
        }

        /// SQL conditions on the device id and metric columns, with their bound values.
        func conditions(deviceID: String, metric: String) -> (sql: String, values: [SQLiteValue]) {
            var parts: [String] = []
            var values: [SQLiteValue] = []
            if let devices {
                parts.append("\(deviceID) IN (" + devices.map { _ in "?" }.joined(separator: ", ") + ")")
                values += devices.map(SQLiteValue.integer)
            }
            if !metrics.isEmpty {
                parts.append("\(metric) IN (" + metrics.map { _ in "?" }.joined(separator: ", ") + ")")
                values += metrics.map(SQLiteValue.text)
            }
            return (parts.isEmpty ? "1" : parts.joined(separator: " AND "), values)
        }
    }

    /// One stored series: a raw metric, or a ppm series named `SENSOR.GAS`.
    public struct Series: Sendable {
        public var product: String
        public var device: String
        public var name: String
        /// For ppm series: the sensor and the gas; empty for raw ones.
        public var sensor: String
        public var gas: String
        public var id: Int64
        public var isPPM: Bool
        public var deviceID: Int64
    }

    /// The series a selection covers, raw and/or ppm, ordered by product, device and name (or sensor, gas).
    public func series(_ selection: Selection, raw: Bool, ppm: Bool,
                       orderBySensorAndGas: Bool = false) throws -> [Series] {
        var parts: [String] = []
        var values: [SQLiteValue] = []
        if raw {
            let condition = selection.conditions(deviceID: "d.id", metric: "s.metric")
            parts.append("""
                SELECT d.product, d.name, s.metric, '', '', s.id, 0, d.id FROM series s
                JOIN devices d ON d.id = s.device_id WHERE \(condition.sql)
                """)
            values += condition.values
        }
        if ppm {
            let condition = selection.conditions(deviceID: "d.id", metric: "p.sensor || '.' || p.gas")
            parts.append("""
                SELECT d.product, d.name, p.sensor || '.' || p.gas, p.sensor, p.gas, p.id, 1, d.id FROM ppm_series p
                JOIN devices d ON d.id = p.device_id WHERE \(condition.sql)
                """)
            values += condition.values
        }
        guard !parts.isEmpty else { return [] }
        let order = orderBySensorAndGas ? "1, 2, 4, 5" : "1, 2, 3"
        return try database.rows(parts.joined(separator: " UNION ALL ") + " ORDER BY \(order)", values).map { row in
            Series(product: row[0].stringValue ?? "", device: row[1].stringValue ?? "", name: row[2].stringValue ?? "",
                   sensor: row[3].stringValue ?? "", gas: row[4].stringValue ?? "", id: row[5].int64Value ?? 0,
                   isPPM: row[6] == .integer(1), deviceID: row[7].int64Value ?? 0)
        }
    }

    /// The distinct sample times of `series` with from ≤ ts < to, in order: the reports that carried them.
    public func sampleTimes(of series: [Series], from: Int64, to: Int64) throws -> [Int64] {
        guard !series.isEmpty else { return [] }
        let ids = series.map { String($0.id) }.joined(separator: ",")
        let devices = Set(series.map(\.deviceID)).map(String.init).joined(separator: ",")
        return try database.rows("""
            SELECT DISTINCT ts FROM readings WHERE device_id IN (\(devices)) AND ts >= ? AND ts < ?
            AND series_id IN (\(ids)) ORDER BY ts
            """, [.integer(from), .integer(to)]).compactMap { $0[0].int64Value }
    }

    /// Every device that has a reading before `time`, in product, name order.
    public func devices(withReadingsBefore time: Int64) throws -> [StoredDevice] {
        try database.rows("""
            SELECT d.id, d.product, d.name FROM devices d WHERE EXISTS (
                SELECT 1 FROM frames f WHERE f.device_id = d.id AND f.ts < ?)
            ORDER BY d.product, d.name
            """, [.integer(time)]).compactMap { row in
                guard let id = row[0].int64Value, let product = row[1].stringValue, let name = row[2].stringValue
                else { return nil }
                return StoredDevice(id: id, product: product, name: name)
            }
    }

    /// Rejected messages received in [from, to) by reason, in reason order.
    public func rejectCounts(from: Int64, to: Int64) throws -> [(reason: String, count: Int)] {
        try database.rows("""
            SELECT reason, COUNT(*) FROM rejects WHERE received_at >= ? AND received_at < ?
            GROUP BY reason ORDER BY reason
            """, [.integer(from), .integer(to)]).compactMap { row in
                guard let reason = row[0].stringValue, let count = row[1].int64Value else { return nil }
                return (reason, Int(count))
            }
    }

    /// The newest sample time `analyze` has processed, nil before the first run.
    public func analyzedThrough() throws -> Int64? {
        try database.scalar("SELECT value FROM analysis_state WHERE key = 'analyzed_through'")?.int64Value
    }
}
