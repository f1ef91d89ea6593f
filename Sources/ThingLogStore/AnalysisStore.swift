import ThingLogCore

/// The derived tables `analyze` maintains (SPEC §5–6: `ppm_series`, `ppm`, `alarms`, `analysis_devices`,
/// `analysis_state`) and the reads it plans from, on two connections: a reader for snapshots of the raw data, a
/// writer for the results. The analysis itself knows no SQL; it asks for series, frames and saved state here.
///
/// The writer connection is used only by `writes`, a thread of its own: results, clears, saved states and commits
/// are handed over in order and written while the caller reads and computes the next device; what needs an answer
/// from the writer waits for the writes before it (`writes.sync`). Close with `finish()`.
public final class AnalysisStore: @unchecked Sendable {
    private let writer: Database
    private let reader: Database
    private let checkpointer: Database
    /// The write-ahead log has grown past `maximumLogFrames` pages (32 MiB); set by `checkpoints`.
    private let logIsLong = Locked(false)
    private let maximumLogFrames: Int64
    private let writes = SerialWorker()
    /// Copies the log into the store on a thread of its own: a checkpoint's writes and syncs hold up neither the
    /// reads and computing nor the writer.
    private let checkpoints = SerialWorker()
    /// Ppm series ids by device, sensor and gas, read once (only analyze writes `ppm_series`, under its lock).
    private var ppmSeriesIDs: [PPMSeriesKey: Int64]?
    private var nextPPMSeriesID: Int64 = 1

    private struct PPMSeriesKey: Hashable {
        var device: Int64
        var sensor: String
        var gas: String
    }
    private var devicePieces: PiecewiseTransaction?
    /// The layouts of ppm frames, shared by every device's writer.
    private let ppmLayouts: FrameLayouts

    /// Opens (migrating when needed) the store at `path`.
    public init(path: String, maximumLogFrames: Int64 = 8192) throws {
        self.maximumLogFrames = maximumLogFrames
        writer = try StoreConnection.openForWriting(path: path)
        reader = try StoreConnection.openForReading(path: path)
        // The log is copied into the store by `checkpoints` (after each device's reads, `endReading`), not after the
        // writer's commits: neither the writer nor the analysis thread waits for a copy.
        checkpointer = try Database(path: path, busyTimeoutMilliseconds: 0)
        try writer.execute("PRAGMA wal_autocheckpoint=0")
        ppmLayouts = try FrameLayouts(database: writer)
    }

    deinit {
        writes.stop()
        checkpoints.stop()
    }

    /// Waits until everything handed to the writer is written; throws the first write that failed.
    public func finish() throws {
        try writes.drain()
        try checkpoints.drain()
    }

    /// A device as the planner sees it.
    public struct Device: Sendable {
        public var id: Int64
        /// `PRODUCT/NAME`.
        public var identity: String
        /// The newest sample time (up to the run's `--to`), nil without readings.
        public var newest: Int64?
    }

    /// What a device's previous run saved.
    public struct SavedState: Sendable {
        /// The highest report id and calibration id the saved state has seen.
        public var throughReport: Int64
        public var calibrationsThrough: Int64
        public var state: [UInt8]
    }

    /// Everything a run is planned from, read in one snapshot.
    public struct Snapshot: Sendable {
        /// The saved states are unusable (`--full`, or a changed configuration fingerprint): recompute everything.
        public var isFull: Bool
        public var highestReport: Int64
        public var highestCalibration: Int64
        /// In product, name order.
        public var devices: [Device]
        /// By device id; empty when `isFull`.
        public var saved: [Int64: SavedState]
        /// The earliest sample time of the reports each device received since its saved state; empty when `isFull`.
        public var lateData: [Int64: Int64]
    }

    /// Reads the plan's inputs in one snapshot. Saved states count only when the stored configuration fingerprint is
    /// `fingerprint` and `full` is false.
    public func snapshot(through: Int64, fingerprint: Int64, full: Bool) throws -> Snapshot {
        try reader.transaction(.readSnapshot) {
            let stored = try reader.scalar("SELECT value FROM analysis_state WHERE key = 'configuration'")?.int64Value
            var snapshot = Snapshot(
                isFull: full || stored != fingerprint,
                highestReport: try reader.scalar("SELECT MAX(id) FROM reports")?.int64Value ?? 0,
                highestCalibration: try reader.scalar("SELECT MAX(id) FROM calibrations")?.int64Value ?? 0,
                devices: [], saved: [:], lateData: [:])
            for row in try reader.rows("""
                SELECT d.id, d.product || '/' || d.name,
                       (SELECT MAX(ts) FROM frames WHERE device_id = d.id AND ts <= ?1)
                FROM devices d ORDER BY d.product, d.name
                """, [.integer(through)]) {
                guard let id = row[0].int64Value, let identity = row[1].stringValue else { continue }
                snapshot.devices.append(Device(id: id, identity: identity, newest: row[2].int64Value))
            }
            guard !snapshot.isFull else { return snapshot }
            for row in try reader.rows(
                "SELECT device_id, through_report, calibrations_through, state FROM analysis_devices") {
                guard let id = row[0].int64Value, let report = row[1].int64Value,
                      let calibration = row[2].int64Value, case .blob(let state) = row[3] else { continue }
                snapshot.saved[id] = SavedState(throughReport: report, calibrationsThrough: calibration, state: state)
            }
            let lowest = snapshot.saved.values.map(\.throughReport).min() ?? snapshot.highestReport
            for row in try reader.rows("""
                SELECT r.device_id, MIN(r.received_at + r.ts_offset) FROM reports r
                JOIN analysis_devices a ON a.device_id = r.device_id
                WHERE r.id > ? AND r.id > a.through_report GROUP BY r.device_id
                """, [.integer(lowest)]) {
                if let id = row[0].int64Value, let time = row[1].int64Value { snapshot.lateData[id] = time }
            }
            return snapshot
        }
    }

    /// Empties every derived table and records the configuration they will be computed with.
    /// The writer does it while the first device is read and computed.
    public func resetResults(fingerprint: Int64) throws {
        ppmSeriesIDs = [:]
        nextPPMSeriesID = 1
        try writes.submit { [self] in try writer.transaction {
            try writer.execute("""
                DELETE FROM ppm_frames; DELETE FROM ppm_series; DELETE FROM alarms; DELETE FROM analysis_devices;
                DELETE FROM rollup_5m; DELETE FROM rollup_1h; DELETE FROM frame_rollup_1h;
                """)
            try setState("configuration", fingerprint)
        } }
    }

    /// Records the newest sample time analyzed (shown by `stats`).
    public func setAnalyzedThrough(_ time: Int64) throws {
        try writes.sync { try writer.transaction { try setState("analyzed_through", time) } }
    }

    private func setState(_ key: String, _ value: Int64) throws {
        try writer.execute("""
            INSERT INTO analysis_state(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value
            """, [.text(key), .integer(value)])
    }

    /// The earliest `effective_from` of the device's calibrations added after calibration id `after`.
    public func earliestCalibration(device: Int64, after: Int64) throws -> Int64? {
        try reader.scalar("SELECT MIN(effective_from) FROM calibrations WHERE device_id = ? AND id > ?",
                          [.integer(device), .integer(after)])?.int64Value
    }

    // MARK: One device

    /// Starts a device: a write transaction that may commit in pieces, and a read snapshot of its readings.
    public func beginDevice() throws {
        // The log starts over only when the writer begins while no snapshot reads it; with the next device always
        // being read while the previous one is written, that moment has to be made: now and then the writer drains
        // and restarts the log (a stall of one device), so the log stays near `maximumLogFrames` pages.
        if logIsLong.value {
            // A passive copy under way would make the restart give up at once (SQLITE_BUSY, no busy handler).
            try checkpoints.drain()
            let restarted = try writes.sync {
                try writer.rows("PRAGMA wal_checkpoint(RESTART)").first?[0].int64Value == 0
            }
            if restarted { logIsLong.value = false }
        }
        try writes.submit { [self] in devicePieces = try PiecewiseTransaction(database: writer) }
        try reader.begin(.readSnapshot)
    }

    /// Commits what the device's run wrote so far and continues in a new write transaction; returns once committed.
    public func commitPiece() throws {
        try writes.sync { try devicePieces?.commitPiece() }
    }

    /// Ends the read snapshot, then has what the log holds of committed work copied into the store (a passive
    /// checkpoint: it never waits for the writer, which goes on appending), unless a copy is still under way. A copy
    /// that fails (a full disk) loses nothing: the results stay committed in the log, readers see them there, and the
    /// next copy tries again.
    public func endReading() throws {
        try reader.commit()
        checkpoints.submitIfIdle { [checkpointer, logIsLong, maximumLogFrames] in
            let frames = try? checkpointer.rows("PRAGMA wal_checkpoint(PASSIVE)").first?[1].int64Value
            logIsLong.value = (frames ?? 0) > maximumLogFrames
        }
    }

    /// Commits the device's last piece.
    public func commitDevice() throws {
        try writes.submit { [self] in
            try devicePieces?.finish()
            devicePieces = nil
        }
    }

    /// Rolls back the open piece and ends the read snapshot.
    public func abandonDevice() {
        writes.reset()
        devicePieces?.abandon()
        devicePieces = nil
        ppmLayouts.forget()  // it may name layouts the rollback removed
        ppmSeriesIDs = nil
        if reader.isInTransaction { try? reader.commit() }
    }

    /// The device's raw series (id, metric) in metric order.
    public func series(ofDevice device: Int64) throws -> [(id: Int64, metric: String)] {
        try reader.rows("SELECT id, metric FROM series WHERE device_id = ? ORDER BY metric", [.integer(device)])
            .compactMap { row in
                guard let id = row[0].int64Value, let metric = row[1].stringValue else { return nil }
                return (id, metric)
            }
    }

    /// The id of the device's ppm series for `sensor` and `gas`, created with its `curve` (inside the device's
    /// transaction) when missing. The ids are read once per run, so asking does not wait for the writer. A series
    /// keeps the curve it was created with: a configuration with other curves has another fingerprint, and a run
    /// under it starts over (`resetResults`).
    public func ppmSeriesID(device: Int64, sensor: String, gas: String, curve: PPMCurve) throws -> Int64 {
        var known = try ppmSeriesIDs ?? writes.sync {
            nextPPMSeriesID = (try writer.scalar("SELECT MAX(id) FROM ppm_series")?.int64Value ?? 0) + 1
            var ids: [PPMSeriesKey: Int64] = [:]
            for row in try writer.rows("SELECT device_id, sensor, gas, id FROM ppm_series") {
                guard let device = row[0].int64Value, let sensor = row[1].stringValue, let gas = row[2].stringValue,
                      let id = row[3].int64Value else { continue }
                ids[PPMSeriesKey(device: device, sensor: sensor, gas: gas)] = id
            }
            return ids
        }
        defer { ppmSeriesIDs = known }
        let key = PPMSeriesKey(device: device, sensor: sensor, gas: gas)
        if let id = known[key] { return id }
        let id = nextPPMSeriesID
        nextPPMSeriesID += 1
        known[key] = id
        try writes.submit { [writer] in
            try writer.cachedStatement("""
                INSERT INTO ppm_series(id, device_id, sensor, gas, a, b, baseline) VALUES (?, ?, ?, ?, ?, ?, ?)
                """).execute([.integer(id), .integer(device), .text(sensor), .text(gas), .real(curve.a), .real(curve.b),
                      .real(curve.baseline)])
        }
        return id
    }

    /// The device's R0 history per sensor: (effective from, R0 in ohms) in effect order.
    public func calibrations(ofDevice device: Int64) throws -> [String: [(Int64, Double)]] {
        var result: [String: [(Int64, Double)]] = [:]
        for row in try reader.rows("""
            SELECT sensor, effective_from, r0_ohms FROM calibrations WHERE device_id = ? ORDER BY effective_from, id
            """, [.integer(device)]) {
            guard let sensor = row[0].stringValue, let from = row[1].int64Value,
                  let r0 = row[2].doubleValue else { continue }
            result[sensor, default: []].append((from, r0))
        }
        return result
    }

    /// Removes the device's open alarms (a continuing run rewrites them).
    public func clearOpenAlarms(device: Int64) throws {
        try writes.submit { [writer] in
            try writer.execute("DELETE FROM alarms WHERE device_id = ? AND ended_at IS NULL", [.integer(device)])
        }
    }

    /// Removes the results a recomputation from `from` rewrites: the device's ppm estimates at or after it (its
    /// frames hold every ppm series of the device), and its alarms still open or ended at or after it.
    public func clearResults(device: Int64, from: Int64) throws {
        try writes.submit { [writer] in
            try writer.cachedStatement("DELETE FROM ppm_frames WHERE device_id = ? AND ts >= ?")
                .execute([.integer(device), .integer(from)])
            try writer.execute("DELETE FROM alarms WHERE device_id = ? AND (ended_at IS NULL OR ended_at >= ?)",
                               [.integer(device), .integer(from)])
        }
    }

    /// Removes the rollups a recomputation from `from` rewrites (see `RollupWriter.clear`).
    package func clearRollups(device: Int64, series: [RollupSeries], from: Int64,
                              keepFiveMinutesFrom: Int64) throws {
        try writes.submit { [writer] in
            try RollupWriter(database: writer).clear(device: device, series: series, from: from,
                                                     keepFiveMinutesFrom: keepFiveMinutesFrom)
        }
    }

    /// Writes a piece of the device's results: its ppm rows (one buffer per series, each in time order), rollups
    /// and alarms.
    package func writeResults(device: Int64, ppmRows: [[PPMRow]],
                              rollups: (fiveMinutes: [RollupRow], hours: [RollupRow], frames: [FrameRollupRow]),
                              alarms: [(alarm: AlarmEvent, lastSampleAt: Int64)]) throws {
        // What needs no store is done here, on the analysis thread: the writer thread is the slower of the two.
        let frames = PPMWriter.Frames(ppmRows)
        let gaps = rollups.frames.map(\.gapsText)
        try writes.submit(isLarge: true) { [self] in
            try PPMWriter(database: writer, deviceID: device, layouts: ppmLayouts).write(frames)
            let rollupWriter = RollupWriter(database: writer)
            try rollupWriter.write(rollups.fiveMinutes, width: .fiveMinutes)
            try rollupWriter.write(rollups.hours, width: .hour)
            try rollupWriter.write(rollups.frames, gaps: gaps, device: device)
            try writeAlarms(alarms, device: device)
        }
    }

    /// The device's readings as frames, `after < time ≤ through`, inside the device's read snapshot.
    public func frames(device: Int64, series: [(id: Int64, metric: String)], after: Int64?,
                       through: Int64?) throws -> DeviceFrames {
        try DeviceFrames(database: reader, deviceID: device, series: series, after: after, through: through)
    }

    /// The usable estimates (SPEC §6) of a ppm series with `from ≤ ts ≤ through`, in time order, as stored: what
    /// the open rollup bucket a continuing run starts in already holds.
    public func usableEstimates(device: Int64, ppmSeries: Int64, from: Int64, through: Int64,
                                _ body: (Int64, Double) throws -> Void) throws {
        try writes.drain()
        let statement = try writer.cachedStatement("""
            SELECT ts, ppm FROM ppm WHERE device_id = ? AND ts >= ? AND ts <= ? AND series_id = ?
            AND quality <= \(PPMQuality.usableCodeLimit) AND ppm IS NOT NULL ORDER BY ts
            """)
        defer { statement.reset() }
        try statement.bind([.integer(device), .integer(from), .integer(through), .integer(ppmSeries)])
        while try statement.step() { try body(statement.int64(0), statement.double(1)) }
    }

    /// Saves the device's analysis state.
    public func saveState(device: Int64, throughTime: Int64?, throughReport: Int64, calibrationsThrough: Int64,
                          state: [UInt8]) throws {
        try writes.submit { [writer] in try writer.cachedStatement("""
            INSERT INTO analysis_devices(device_id, through_ts, through_report, calibrations_through, state)
            VALUES (?, ?, ?, ?, ?) ON CONFLICT(device_id) DO UPDATE SET through_ts = excluded.through_ts,
            through_report = excluded.through_report, calibrations_through = excluded.calibrations_through,
            state = excluded.state
            """).execute([.integer(device), throughTime.map(SQLiteValue.integer) ?? .null, .integer(throughReport),
                          .integer(calibrationsThrough), .blob(state)]) }
    }

    /// Inserts (or replaces, by their stable ids) alarms, each with the time of the last sample it has seen.
    private func writeAlarms(_ alarms: [(alarm: AlarmEvent, lastSampleAt: Int64)], device: Int64) throws {
        let insert = try writer.cachedStatement("""
            INSERT OR REPLACE INTO alarms(id, device_id, rule, severity, metric, started_at, fired_at, ended_at,
                                          last_sample_at, peak, peak_at, threshold)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        for (alarm, last) in alarms {
            try insert.execute([.text(alarm.id), .integer(device), .text(alarm.rule), .text(alarm.severity.rawValue),
                                alarm.series.map(SQLiteValue.text) ?? .null, .integer(alarm.startedAt),
                                .integer(alarm.firedAt), alarm.endedAt.map(SQLiteValue.integer) ?? .null,
                                .integer(last), alarm.peak.map(SQLiteValue.real) ?? .null,
                                alarm.peakAt.map(SQLiteValue.integer) ?? .null,
                                alarm.threshold.map(SQLiteValue.real) ?? .null])
        }
    }
}
