/// What one `analyze` run produced.
public struct AnalysisSummary: Sendable, Equatable {
    public var devices = 0
    /// Devices analyzed from their first sample (new, `--full`, changed configuration or calibration, late data).
    public var recomputedDevices = 0
    public var frames = 0
    public var ppmEstimates = 0
    public var alarms = 0
    public var openAlarms = 0
    /// The newest sample time analyzed.
    public var analyzedThrough: Int64?
}

/// How `analyze` was asked to run (SPEC §4).
public struct AnalysisOptions: Sendable {
    /// Recompute every device from its first sample.
    public var full = false
    /// Recompute the results at or after this time (the state before it is rebuilt by replaying history).
    public var from: Int64?
    /// Analyze samples up to and including this time only.
    public var to: Int64?

    public init(full: Bool = false, from: Int64? = nil, to: Int64? = nil) {
        self.full = full
        self.from = from
        self.to = to
    }
}

/// Computes the derived tables (SPEC §6) device by device, streaming each device's readings in time order through
/// `DeviceAnalysis`: ppm estimates for every configured sensor and gas, and alarm events for every rule. Rolling means
/// and exposures are computed on the way for the rules that name them; the `rolling` export computes the rest with
/// the same code when asked.
///
/// Incremental: each device continues from its saved state and last sample time. A device is recomputed from the
/// first affected time when it received data at or before where it stopped, or a calibration effective at or before
/// it was saved; a changed configuration (or `--full`) recomputes everything. Every device is committed on its own,
/// so a concurrent subscriber waits at most one device, and readers see whole devices. All runs read one snapshot.
public final class Analyzer {
    let path: String
    let configuration: Configuration
    /// Bump when analysis semantics change, so stores analyzed by an older thinglog are recomputed.
    static let semanticsVersion = 3
    /// A device with a long history commits after this many frames (about half a second of writing).
    var framesPerCommit = 100_000
    /// For tests: fail right after this many intermediate commits, as a crash would.
    var failAfterCommits: Int?

    public init(path: String, configuration: Configuration) {
        self.path = path
        self.configuration = configuration
    }

    /// Identifies everything in the configuration that analysis results depend on.
    var fingerprint: Int64 {
        let text = "\(Self.semanticsVersion)|\(configuration.sensors)|\(configuration.compensation)|"
            + "\(configuration.warmupMilliseconds)|\(configuration.windows)|\(configuration.alarms)"
        return SHA256.hash(Array(text.utf8)).prefix(8).reduce(0) { $0 << 8 | Int64($1) }
    }

    public func run(_ options: AnalysisOptions = AnalysisOptions()) throws -> AnalysisSummary {
        let lock = try FileLock(path: path + ".analyze-lock")
        defer { lock.release() }
        let writer = try StoreConnection.openForWriting(path: path)
        let reader = try StoreConnection.openForReading(path: path)

        // One snapshot decides what to do; each device then reads its readings in a snapshot of its own, so that the
        // write-ahead log can be checkpointed between devices. A device reads only up to its newest sample in the
        // first snapshot: samples arriving meanwhile are next run's (or, if older, recomputed as late data then).
        try reader.execute("BEGIN")
        let stored = try reader.scalar("SELECT value FROM analysis_state WHERE key = 'configuration'")?.int64Value
        let full = options.full || stored != fingerprint
        let highReport = try reader.scalar("SELECT MAX(id) FROM reports")?.int64Value ?? 0
        let highCalibration = try reader.scalar("SELECT MAX(id) FROM calibrations")?.int64Value ?? 0
        var devices: [(id: Int64, name: String, newest: Int64?)] = []
        for row in try reader.rows("""
            SELECT d.id, d.product || '/' || d.name,
                   (SELECT MAX((SELECT MAX(ts) FROM readings WHERE series_id = s.id AND ts <= ?1))
                    FROM series s WHERE s.device_id = d.id)
            FROM devices d ORDER BY d.product, d.name
            """, [.integer(options.to ?? .max)]) {
            guard let id = row[0].int64Value, let name = row[1].stringValue else { continue }
            devices.append((id, name, row[2].int64Value))
        }
        let dataEnd = devices.compactMap(\.newest).max()
        var saved: [Int64: (throughReport: Int64, calibrationsThrough: Int64, state: [UInt8])] = [:]
        var lateData: [Int64: Int64] = [:]
        if !full {
            let rows = try reader.rows(
                "SELECT device_id, through_report, calibrations_through, state FROM analysis_devices")
            for row in rows {
                guard let id = row[0].int64Value, let report = row[1].int64Value, let calibration = row[2].int64Value,
                      case .blob(let state) = row[3] else { continue }
                saved[id] = (report, calibration, state)
            }
            // Reports that arrived since a device was analyzed, by the earliest time they carry.
            let lowest = saved.values.map(\.throughReport).min() ?? highReport
            for row in try reader.rows("""
                SELECT r.device_id, MIN(r.received_at + r.ts_offset) FROM reports r
                JOIN analysis_devices a ON a.device_id = r.device_id
                WHERE r.id > ? AND r.id > a.through_report GROUP BY r.device_id
                """, [.integer(lowest)]) {
                if let id = row[0].int64Value, let time = row[1].int64Value { lateData[id] = time }
            }
        }
        try reader.execute("COMMIT")
        if full {
            try writer.inTransaction {
                try writer.execute("""
                    DELETE FROM ppm; DELETE FROM ppm_series; DELETE FROM alarms; DELETE FROM analysis_devices;
                    """)
                try setState(writer, "configuration", fingerprint)
            }
        }

        var summary = AnalysisSummary(analyzedThrough: dataEnd)
        var commits = 0
        for (id, name, newest) in devices {
            let fresh = DeviceAnalysis.initialState(device: name, configuration: configuration)
            var plan = DevicePlan(state: fresh)
            if let entry = saved[id], let restored = try? DeviceAnalysis.State.decode(entry.state, into: fresh),
               let through = restored.throughTime {
                let calibrated = try reader.scalar("""
                    SELECT MIN(effective_from) FROM calibrations WHERE device_id = ? AND id > ?
                    """, [.integer(id), .integer(entry.calibrationsThrough)])?.int64Value
                let affected = [lateData[id], calibrated, options.from].compactMap { $0 }.filter { $0 <= through }.min()
                if let affected { plan.emitFrom = affected } else { plan = DevicePlan(state: restored, after: through) }
            }
            if plan.after == nil { summary.recomputedDevices += 1 }
            func save(_ state: DeviceAnalysis.State, throughReport: Int64, calibrationsThrough: Int64) throws {
                try writer.execute("""
                    INSERT INTO analysis_devices(device_id, through_ts, through_report, calibrations_through, state)
                    VALUES (?, ?, ?, ?, ?) ON CONFLICT(device_id) DO UPDATE SET through_ts = excluded.through_ts,
                    through_report = excluded.through_report, calibrations_through = excluded.calibrations_through,
                    state = excluded.state
                    """, [.integer(id), state.throughTime.map(SQLiteValue.integer) ?? .null, .integer(throughReport),
                          .integer(calibrationsThrough), .blob(state.encoded())])
            }
            try writer.execute("BEGIN IMMEDIATE")
            try reader.execute("BEGIN")
            do {
                let state = try analyze(device: id, name: name, plan: plan, through: newest ?? .min, dataEnd: dataEnd,
                                        reader: reader, writer: writer, summary: &summary) { partial in
                    // A long history commits in pieces, so a concurrent subscriber never waits long. The piece's
                    // state claims no new report or calibration: after a crash here, the next run sees them again
                    // and recomputes what they affect.
                    try save(partial, throughReport: saved[id]?.throughReport ?? 0,
                             calibrationsThrough: saved[id]?.calibrationsThrough ?? 0)
                    try writer.execute("COMMIT")
                    commits += 1
                    if let limit = failAfterCommits, commits >= limit { throw RuntimeError("simulated crash") }
                    try writer.execute("BEGIN IMMEDIATE")
                }
                // The read snapshot ends before the write commits, so the commit's checkpoint can empty the log.
                try reader.execute("COMMIT")
                try save(state, throughReport: highReport, calibrationsThrough: highCalibration)
                try writer.execute("COMMIT")
            } catch {
                if writer.isInTransaction { try? writer.execute("ROLLBACK") }
                if reader.isInTransaction { try? reader.execute("COMMIT") }
                throw error
            }
            summary.devices += 1
        }
        try writer.inTransaction {
            if let dataEnd { try setState(writer, "analyzed_through", dataEnd) }
        }
        return summary
    }

    /// Where one device's run starts: continuing after `after` from saved state, or from the first sample with a
    /// fresh state, writing results from `emitFrom` on (nil: all).
    private struct DevicePlan {
        var state: DeviceAnalysis.State
        var after: Int64?
        var emitFrom: Int64?
    }

    /// Analyzes one device inside the caller's write transaction, calling `checkpoint` with the state so far after
    /// every `framesPerCommit` frames (their results written); returns the final state to save.
    private func analyze(device id: Int64, name: String, plan: DevicePlan, through: Int64, dataEnd: Int64?,
                         reader: Database, writer: Database,
                         summary: inout AnalysisSummary,
                         checkpoint: (DeviceAnalysis.State) throws -> Void) throws -> DeviceAnalysis.State {
        let series = try reader.rows("SELECT id, metric FROM series WHERE device_id = ? ORDER BY metric",
                                     [.integer(id)])
            .compactMap { row -> (id: Int64, metric: String)? in
                guard let seriesID = row[0].int64Value, let metric = row[1].stringValue else { return nil }
                return (seriesID, metric)
            }
        let metrics = Set(series.map(\.metric))
        var ppmSeries: [String: [Int64]] = [:]
        for sensor in configuration.sensors where metrics.contains(sensor.key) {
            ppmSeries[sensor.key] = try sensor.gases.map { gas in
                try writer.execute("INSERT OR IGNORE INTO ppm_series(device_id, sensor, gas) VALUES (?, ?, ?)",
                                   [.integer(id), .text(sensor.key), .text(gas.gas)])
                return try writer.scalar("SELECT id FROM ppm_series WHERE device_id = ? AND sensor = ? AND gas = ?",
                                         [.integer(id), .text(sensor.key), .text(gas.gas)])?.int64Value ?? 0
            }
        }
        var calibrations: [String: [(Int64, Double)]] = [:]
        for row in try reader.rows("""
            SELECT sensor, effective_from, r0_ohms FROM calibrations WHERE device_id = ? ORDER BY effective_from, id
            """, [.integer(id)]) {
            guard let sensor = row[0].stringValue, let from = row[1].int64Value,
                  let r0 = row[2].doubleValue else { continue }
            calibrations[sensor, default: []].append((from, r0))
        }

        // Clear what this run rewrites.
        let allSeries = ppmSeries.values.flatMap { $0 }.map { String($0) }.joined(separator: ",")
        if plan.after != nil {
            try writer.execute("DELETE FROM alarms WHERE device_id = ? AND ended_at IS NULL", [.integer(id)])
        } else {
            let from = plan.emitFrom ?? .min
            try writer.execute("DELETE FROM ppm WHERE series_id IN (\(allSeries)) AND ts >= ?", [.integer(from)])
            try writer.execute("DELETE FROM alarms WHERE device_id = ? AND (ended_at IS NULL OR ended_at >= ?)",
                               [.integer(id), .integer(from)])
        }

        let analysis = DeviceAnalysis(device: name, metrics: series.map(\.metric), configuration: configuration,
                                      ppmSeries: ppmSeries, calibrations: calibrations, state: plan.state)
        let frames = try DeviceFrames(database: reader, series: series, after: plan.after, through: through)
        let sink = try PPMWriter(database: writer)
        func writePPM() throws {
            summary.ppmEstimates += analysis.ppmRows.count
            try sink.write(analysis.ppmRows)
            analysis.ppmRows.removeAll(keepingCapacity: true)
        }
        var framesSinceCommit = 0
        while try frames.next() {
            analysis.process(frames, emitting: plan.emitFrom.map { frames.time >= $0 } ?? true)
            summary.frames += 1
            framesSinceCommit += 1
            if analysis.ppmRows.count >= 32_768 { try writePPM() }
            if framesSinceCommit >= framesPerCommit {
                try writePPM()
                try write(analysis.endedAlarms.map { ($0, $0.endedAt ?? $0.startedAt) }, device: id, to: writer,
                          summary: &summary)
                analysis.endedAlarms.removeAll()
                try checkpoint(analysis.state)
                framesSinceCommit = 0
            }
        }
        try writePPM()
        try write(analysis.endedAlarms.map { ($0, $0.endedAt ?? $0.startedAt) } + analysis.openAlarms(dataEnd: dataEnd),
                  device: id, to: writer, summary: &summary)
        return analysis.state
    }

    /// Inserts (or replaces, by their stable ids) alarms with the time of the last sample each has seen.
    private func write(_ alarms: [(AlarmEvent, Int64)], device: Int64, to writer: Database,
                       summary: inout AnalysisSummary) throws {
        let insert = try writer.cached("""
            INSERT OR REPLACE INTO alarms(id, device_id, rule, severity, metric, started_at, fired_at, ended_at,
                                          last_sample_at, peak, peak_at, threshold)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        for (alarm, last) in alarms {
            insert.rewind()
            try insert.execute([.text(alarm.id), .integer(device), .text(alarm.rule), .text(alarm.severity.rawValue),
                                alarm.series.map(SQLiteValue.text) ?? .null, .integer(alarm.startedAt),
                                .integer(alarm.firedAt), alarm.endedAt.map(SQLiteValue.integer) ?? .null,
                                .integer(last), alarm.peak.map(SQLiteValue.real) ?? .null,
                                alarm.peakAt.map(SQLiteValue.integer) ?? .null,
                                alarm.threshold.map(SQLiteValue.real) ?? .null])
            summary.alarms += 1
            if alarm.endedAt == nil { summary.openAlarms += 1 }
        }
    }

    private func setState(_ database: Database, _ key: String, _ value: Int64) throws {
        try database.execute("""
            INSERT INTO analysis_state(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value
            """, [.text(key), .integer(value)])
    }
}
