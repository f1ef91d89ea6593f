
/// One stored alarm as the `alarms` table and export show it (SPEC §4 `alarms` columns).
public struct StoredAlarm: Sendable {
    public var id: String
    public var product: String
    public var device: String
    public var rule: String
    public var severity: String
    public var metric: String?
    public var startedAt: Int64
    public var firedAt: Int64
    public var endedAt: Int64?
    /// From start to end, or to the last sample seen while still open.
    public var durationSeconds: Double
    public var peak: Double?
    public var peakAt: Int64?
    public var threshold: Double?
}

/// A calibration to append to the history (`calibrations` table, SPEC §4 `calibrate --save`).
public struct CalibrationRecord: Sendable {
    public var device: StoredDevice
    public var sensor: String
    public var r0Ohms: Double
    public var effectiveFrom: Int64
    public var windowFrom: Int64
    public var samples: Int
    public var rsStandardDeviationOhms: Double?
    public var isCompensated: Bool
    public var createdAt: Int64

    public init(device: StoredDevice, sensor: String, r0Ohms: Double, effectiveFrom: Int64, windowFrom: Int64,
                samples: Int, rsStandardDeviationOhms: Double?, isCompensated: Bool, createdAt: Int64) {
        self.device = device
        self.sensor = sensor
        self.r0Ohms = r0Ohms
        self.effectiveFrom = effectiveFrom
        self.windowFrom = windowFrom
        self.samples = samples
        self.rsStandardDeviationOhms = rsStandardDeviationOhms
        self.isCompensated = isCompensated
        self.createdAt = createdAt
    }
}

extension StoreReader {
    /// Every alarm of the selection (metrics match the alarm's series) whose [started_at, ended_at) overlaps
    /// [from, to) (nil: unbounded); an open alarm extends to the end. Ordered by product, device, rule, start.
    public func alarms(_ selection: Selection, from: Int64?, to: Int64?,
                       _ body: (StoredAlarm) throws -> Void) throws {
        var range = selection.conditions(deviceID: "a.device_id", metric: "a.metric")
        if let to { range.sql += " AND a.started_at < ?"; range.values.append(.integer(to)) }
        if let from {
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
            try body(StoredAlarm(
                id: s.string(0), product: s.string(1), device: s.string(2), rule: s.string(3), severity: s.string(4),
                metric: s.isNull(5) ? nil : s.string(5), startedAt: s.int64(6), firedAt: s.int64(7),
                endedAt: s.isNull(8) ? nil : s.int64(8), durationSeconds: s.double(9),
                peak: s.isNull(10) ? nil : s.double(10), peakAt: s.isNull(11) ? nil : s.int64(11),
                threshold: s.isNull(12) ? nil : s.double(12)))
        }
    }

    /// The samples a calibration window averages (mq-sensors.md §4): each reading of `sensor` of `device` with
    /// from ≤ ts < to in time order, with the temperature and humidity of the same report (same ts), if any.
    public func calibrationSamples(device: Int64, sensor: String, temperature: String, humidity: String,
                                   from: Int64, to: Int64,
                                   _ body: (_ time: Int64, _ value: Double, _ temperature: Double?,
                                            _ humidity: Double?) throws -> Void) throws {
        // Series ids first, so every lookup below is a primary-key seek.
        let statement = try database.prepare("""
            WITH d AS (SELECT :device AS id),
                 s AS (SELECT d.id AS device,
                              (SELECT id FROM series WHERE device_id = d.id AND metric = :sensor) AS value,
                              (SELECT id FROM series WHERE device_id = d.id AND metric = :temperature) AS temperature,
                              (SELECT id FROM series WHERE device_id = d.id AND metric = :humidity) AS humidity FROM d)
            SELECT r.ts, r.value,
                   (SELECT value FROM readings WHERE device_id = s.device AND ts = r.ts AND series_id = s.temperature),
                   (SELECT value FROM readings WHERE device_id = s.device AND ts = r.ts AND series_id = s.humidity)
            FROM s JOIN readings r ON r.device_id = s.device AND r.series_id = s.value
            WHERE r.ts >= :from AND r.ts < :to
            ORDER BY r.ts
            """)
        try statement.bind([.integer(device), .text(sensor), .text(temperature), .text(humidity), .integer(from),
                            .integer(to)])
        while try statement.step() {
            try body(statement.int64(0), statement.double(1), statement.isNull(2) ? nil : statement.double(2),
                     statement.isNull(3) ? nil : statement.double(3))
        }
    }

    /// Appends a calibration to the history (the connection must be the writer's).
    public func append(_ calibration: CalibrationRecord) throws {
        try database.execute("""
            INSERT INTO calibrations(device_id, device, sensor, r0_ohms, effective_from, window_from, samples,
                                     rs_stddev_ohms, compensated, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, [.integer(calibration.device.id), .text(calibration.device.name), .text(calibration.sensor),
                  .real(calibration.r0Ohms), .integer(calibration.effectiveFrom), .integer(calibration.windowFrom),
                  .integer(Int64(calibration.samples)),
                  calibration.rsStandardDeviationOhms.map(SQLiteValue.real) ?? .null,
                  .integer(calibration.isCompensated ? 1 : 0), .integer(calibration.createdAt)])
    }
}
