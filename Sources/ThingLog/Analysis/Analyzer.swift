/// What one `analyze` run produced.
public struct AnalysisSummary: Sendable, Equatable {
    public var devices = 0
    public var ppmEstimates = 0
    public var alarms = 0
    public var openAlarms = 0
}

/// Computes the derived tables (SPEC §6) from the whole store, device by device and series by series, streaming:
/// ppm estimates for every configured sensor and gas, and alarm events for every rule. Rolling means and exposures
/// that rules name are computed on the way and not stored.
///
/// This version recomputes everything on each run (the `--full` behaviour); incremental runs that continue from a
/// watermark are not built yet.
public final class Analyzer {
    let database: Database
    let configuration: Configuration
    /// Gap after which a sensor warms up again (mq-sensors.md §5).
    static let warmupGap: Int64 = 10 * 60_000

    public init(database: Database, configuration: Configuration) {
        self.database = database
        self.configuration = configuration
    }

    public func run() throws -> AnalysisSummary {
        try database.inTransaction {
            try database.execute("DELETE FROM ppm; DELETE FROM ppm_series; DELETE FROM alarms;")
            var summary = AnalysisSummary()
            let dataEnd = try database.scalar("SELECT MAX(ts) FROM readings")?.int64Value
            let devices = try database.rows("SELECT id, name FROM devices ORDER BY name")
            for row in devices {
                guard let id = row[0].int64Value, let name = row[1].stringValue else { continue }
                try analyze(deviceID: id, name: name, dataEnd: dataEnd, summary: &summary)
                summary.devices += 1
            }
            try database.execute("""
                INSERT INTO analysis_state(key, value) VALUES ('analyzed_through', ?)
                ON CONFLICT(key) DO UPDATE SET value = excluded.value
                """, [dataEnd.map(SQLiteValue.integer) ?? .null])
            return summary
        }
    }

    private func analyze(deviceID: Int64, name: String, dataEnd: Int64?, summary: inout AnalysisSummary) throws {
        let times = try database.rows("""
            SELECT DISTINCT r.ts FROM readings r JOIN series s ON s.id = r.series_id WHERE s.device_id = ? ORDER BY r.ts
            """, [.integer(deviceID)]).compactMap { $0[0].int64Value }
        guard !times.isEmpty else { return }
        var evaluators: [String: [RuleEvaluator]] = [:]
        for rule in configuration.alarms {
            guard let series = RuleEvaluator.baseSeries(of: rule),
                  let evaluator = RuleEvaluator(rule: rule, device: name, windows: configuration.windows) else { continue }
            evaluators[series, default: []].append(evaluator)
        }
        var warmupStarts: [Int64] = [times[0]]
        for (previous, next) in zip(times, times.dropFirst()) where next - previous > Self.warmupGap {
            warmupStarts.append(next)
        }

        for sensor in configuration.sensors {
            summary.ppmEstimates += try estimate(sensor, deviceID: deviceID, device: name, warmupStarts: warmupStarts,
                                                 evaluators: &evaluators)
        }
        // Raw-metric rules read their series straight from the readings.
        for (series, _) in evaluators where !series.contains(".") {
            let samples = try database.cached("""
                SELECT r.ts, r.value FROM readings r JOIN series s ON s.id = r.series_id
                WHERE s.device_id = ? AND s.metric = ? ORDER BY r.ts
                """)
            try samples.bind([.integer(deviceID), .text(series)])
            while try samples.step() {
                let time = samples.int64(0), value = samples.double(1)
                for index in evaluators[series, default: []].indices { evaluators[series]?[index].add(time: time, value: value) }
            }
            samples.rewind()
        }
        var alarms: [(AlarmEvent, Int64)] = []
        for list in evaluators.values {
            for evaluator in list {
                let last = evaluator.lastSampleAt ?? 0
                alarms += evaluator.finished.map { ($0, last) }
                if let open = evaluator.open { alarms.append((open, last)) }
            }
        }
        alarms += staleAlarms(device: name, times: times, dataEnd: dataEnd)
        for (alarm, last) in alarms {
            try database.execute("""
                INSERT INTO alarms(id, device, rule, severity, metric, started_at, fired_at, ended_at, last_sample_at,
                                   peak, peak_at, threshold)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, [.text(alarm.id), .text(alarm.device), .text(alarm.rule), .text(alarm.severity.rawValue),
                      alarm.series.map(SQLiteValue.text) ?? .null, .integer(alarm.startedAt), .integer(alarm.firedAt),
                      alarm.endedAt.map(SQLiteValue.integer) ?? .null, .integer(last),
                      alarm.peak.map(SQLiteValue.real) ?? .null, alarm.peakAt.map(SQLiteValue.integer) ?? .null,
                      alarm.threshold.map(SQLiteValue.real) ?? .null])
            summary.alarms += 1
            if alarm.endedAt == nil { summary.openAlarms += 1 }
        }
    }

    /// ppm rows for one sensor of one device; feeds the rules that name its gases.
    private func estimate(_ sensor: SensorConfiguration, deviceID: Int64, device: String, warmupStarts: [Int64],
                          evaluators: inout [String: [RuleEvaluator]]) throws -> Int {
        let compensation = configuration.compensation
        let samples = try database.cached("""
            SELECT r.ts, r.value,
                   (SELECT value FROM readings WHERE series_id = (SELECT id FROM series WHERE device_id = ?1 AND metric = ?3)
                    AND ts = r.ts),
                   (SELECT value FROM readings WHERE series_id = (SELECT id FROM series WHERE device_id = ?1 AND metric = ?4)
                    AND ts = r.ts)
            FROM readings r WHERE r.series_id = (SELECT id FROM series WHERE device_id = ?1 AND metric = ?2)
            ORDER BY r.ts
            """)
        try samples.bind([.integer(deviceID), .text(sensor.key), .text(compensation.temperatureProperty),
                          .text(compensation.humidityProperty)])
        defer { samples.rewind() }
        let calibrations = try database.rows("""
            SELECT effective_from, r0_ohms FROM calibrations WHERE device = ? AND sensor = ? ORDER BY effective_from, id
            """, [.text(device), .text(sensor.key)]).compactMap { row -> (Int64, Double)? in
                guard let from = row[0].int64Value, let r0 = row[1].doubleValue else { return nil }
                return (from, r0)
            }
        var seriesIDs: [Int64] = []
        for gas in sensor.gases {
            try database.execute("INSERT INTO ppm_series(device_id, sensor, gas) VALUES (?, ?, ?)",
                                 [.integer(deviceID), .text(sensor.key), .text(gas.gas)])
            seriesIDs.append(database.lastInsertRowID)
        }
        let insert = try database.cached("INSERT INTO ppm(series_id, ts, ppm, rs_r0, quality) VALUES (?, ?, ?, ?, ?)")
        let chain = SensorChain(sensor: sensor)
        var calibrationIndex = -1
        var warmupIndex = 0
        var count = 0
        while try samples.step() {
            let time = samples.int64(0), raw = samples.double(1)
            while calibrationIndex + 1 < calibrations.count, calibrations[calibrationIndex + 1].0 <= time {
                calibrationIndex += 1
            }
            while warmupIndex + 1 < warmupStarts.count, warmupStarts[warmupIndex + 1] <= time { warmupIndex += 1 }
            let isWarmingUp = time - warmupStarts[warmupIndex] < configuration.warmupMilliseconds
            let r0 = calibrationIndex >= 0 ? calibrations[calibrationIndex].1 : sensor.r0Ohms
            let estimates = chain.estimate(raw: raw, temperature: samples.isNull(2) ? nil : samples.double(2),
                                           humidity: samples.isNull(3) ? nil : samples.double(3),
                                           compensation: compensation, r0: r0, isWarmingUp: isWarmingUp)
            for (seriesID, estimate) in zip(seriesIDs, estimates) {
                insert.rewind()
                try insert.bind([.integer(seriesID), .integer(time), estimate.ppm.map(SQLiteValue.real) ?? .null,
                                 estimate.ratio.map(SQLiteValue.real) ?? .null, .text(estimate.quality.rawValue)])
                try insert.step()
                count += 1
                if let ppm = estimate.ppm {
                    let name = "\(sensor.key).\(estimate.gas)"
                    for index in evaluators[name, default: []].indices { evaluators[name]?[index].add(time: time, value: ppm) }
                }
            }
        }
        return count
    }

    /// Stale rule (SPEC §6): silent for longer than `after` → started at last report + after, ended at the next
    /// report; still silent at the end of the data → open.
    private func staleAlarms(device: String, times: [Int64], dataEnd: Int64?) -> [(AlarmEvent, Int64)] {
        var result: [(AlarmEvent, Int64)] = []
        for rule in configuration.alarms {
            guard case .stale(let after) = rule.kind else { continue }
            func alarm(_ last: Int64, _ next: Int64?) -> AlarmEvent {
                AlarmEvent(device: device, rule: rule.name, severity: rule.severity, series: nil,
                           startedAt: last + after, firedAt: last + after, endedAt: next, peak: nil, peakAt: nil,
                           threshold: Double(after) / 1000)
            }
            for (last, next) in zip(times, times.dropFirst()) where next - last > after {
                result.append((alarm(last, next), next))
            }
            if let final = times.last, let dataEnd, dataEnd - final > after {
                result.append((alarm(final, nil), dataEnd))
            }
        }
        return result
    }
}
