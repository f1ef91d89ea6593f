import ThingLogCore
import ThingLogStore

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
    static let semanticsVersion = 4
    /// 5-minute rollups are kept for this long before the newest data (hourly ones for ever), as Home Assistant
    /// keeps its short-term statistics: at one report a minute, 5-minute rows cost about half the readings' space.
    var fiveMinuteRetention: Int64 = 2 * 86_400_000
    /// A device with a long history commits after this many frames (about half a second of writing).
    var framesPerCommit = 100_000
    /// The write-ahead log is restarted past this many pages (tests make it small).
    var maximumLogFrames: Int64 = 8192
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
        let store = try AnalysisStore(path: path, maximumLogFrames: maximumLogFrames)

        // One snapshot decides what to do; each device then reads its readings in a snapshot of its own, so that the
        // write-ahead log can be checkpointed between devices. A device reads only up to its newest sample in the
        // first snapshot: samples arriving meanwhile are next run's (or, if older, recomputed as late data then).
        let snapshot = try store.snapshot(through: options.to ?? .max, fingerprint: fingerprint, full: options.full)
        if snapshot.isFull { try store.resetResults(fingerprint: fingerprint) }
        let dataEnd = snapshot.devices.compactMap(\.newest).max()
        let keepFiveMinutesFrom = dataEnd.map { RollupWidth.fiveMinutes.bucket(of: $0 - fiveMinuteRetention) }
            ?? .min
        var summary = AnalysisSummary(analyzedThrough: dataEnd)
        var commits = 0
        for device in snapshot.devices {
            let saved = snapshot.saved[device.id]
            let fresh = DeviceAnalysis.initialState(device: device.identity, configuration: configuration)
            var plan = DevicePlan(state: fresh)
            if let saved, let restored = try? DeviceAnalysis.State.decode(saved.state, into: fresh),
               let through = restored.throughTime {
                let calibrated = try store.earliestCalibration(device: device.id, after: saved.calibrationsThrough)
                plan = DevicePlan(fresh: fresh, restored: restored, through: through,
                                  affectedFrom: [snapshot.lateData[device.id], calibrated, options.from])
            }
            if plan.after == nil { summary.recomputedDevices += 1 }
            do {
                try store.beginDevice()
                let state = try analyze(device: device, plan: plan, dataEnd: dataEnd,
                                        keepFiveMinutesFrom: keepFiveMinutesFrom, store: store,
                                        summary: &summary) { partial in
                    // A long history commits in pieces, so a concurrent subscriber never waits long. The piece's
                    // state claims no new report or calibration: after a crash here, the next run sees them again
                    // and recomputes what they affect.
                    try store.saveState(device: device.id, throughTime: partial.throughTime,
                                        throughReport: saved?.throughReport ?? 0,
                                        calibrationsThrough: saved?.calibrationsThrough ?? 0, state: partial.encoded())
                    try store.commitPiece()
                    commits += 1
                    if let limit = failAfterCommits, commits >= limit { throw RuntimeError("simulated crash") }
                }
                try store.endReading()
                try store.saveState(device: device.id, throughTime: state.throughTime,
                                    throughReport: snapshot.highestReport,
                                    calibrationsThrough: snapshot.highestCalibration, state: state.encoded())
                try store.commitDevice()
            } catch {
                store.abandonDevice()
                throw error
            }
            summary.devices += 1
        }
        do {
            if let dataEnd { try store.setAnalyzedThrough(dataEnd) }
            try store.finish()
        } catch {
            store.abandonDevice()
            throw error
        }
        return summary
    }

    /// Where one device's run starts: continuing after `after` from saved state, or from the first sample with a
    /// fresh state, writing results from `emitFrom` on (nil: all).
    struct DevicePlan {
        var state: DeviceAnalysis.State
        var after: Int64?
        var emitFrom: Int64?

        init(state: DeviceAnalysis.State, after: Int64? = nil, emitFrom: Int64? = nil) {
            self.state = state
            self.after = after
            self.emitFrom = emitFrom
        }

        /// The plan for a device whose saved state reaches `through`: continue from it, unless something at or
        /// before `through` changed (late data, a calibration taking effect, `--from`); then recompute from the first
        /// sample with a fresh state, writing results from the earliest such time on.
        init(fresh: DeviceAnalysis.State, restored: DeviceAnalysis.State, through: Int64, affectedFrom: [Int64?]) {
            if let affected = affectedFrom.compactMap({ $0 }).filter({ $0 <= through }).min() {
                self.init(state: fresh, emitFrom: affected)
            } else {
                self.init(state: restored, after: through)
            }
        }
    }

    /// Analyzes one device inside its write transaction, calling `checkpoint` with the state so far after every
    /// `framesPerCommit` frames (their results written); returns the final state to save.
    private func analyze(device: AnalysisStore.Device, plan: DevicePlan, dataEnd: Int64?, keepFiveMinutesFrom: Int64,
                         store: AnalysisStore, summary: inout AnalysisSummary,
                         checkpoint: (DeviceAnalysis.State) throws -> Void) throws -> DeviceAnalysis.State {
        let series = try store.series(ofDevice: device.id)
        let metrics = Set(series.map(\.metric))
        var ppmSeries: [String: [Int64]] = [:]
        for sensor in configuration.sensors where metrics.contains(sensor.key) {
            ppmSeries[sensor.key] = try sensor.gases.map {
                try store.ppmSeriesID(device: device.id, sensor: sensor.key, gas: $0.gas, curve: $0.ppmCurve)
            }
        }
        // Clear what this run rewrites.
        if plan.after != nil {
            try store.clearOpenAlarms(device: device.id)
        } else {
            try store.clearResults(device: device.id, from: plan.emitFrom ?? .min)
        }

        // Rollups are rebuilt from the start of the hour the run's first result falls in.
        let rollupFrom = (plan.after ?? plan.emitFrom).map { RollupWidth.hour.bucket(of: $0) } ?? .min
        let analysis = DeviceAnalysis(device: device.identity, series: series, configuration: configuration,
                                      ppmSeries: ppmSeries, calibrations: try store.calibrations(ofDevice: device.id),
                                      state: plan.state,
                                      rollups: (from: rollupFrom, keepFiveMinutesFrom: keepFiveMinutesFrom))
        try store.clearRollups(device: device.id, series: analysis.rollups.series, from: rollupFrom,
                               keepFiveMinutesFrom: keepFiveMinutesFrom)
        if let through = plan.after {
            try feedAnalyzedPart(device: device.id, from: rollupFrom, through: through, series: series,
                                 ppmSeries: ppmSeries,
                                 rollups: analysis.rollups, store: store)
        }
        let frames = try store.frames(device: device.id, series: series, after: plan.after,
                                      through: device.newest ?? .min)
        func writeResults(alarms: [(alarm: AlarmEvent, lastSampleAt: Int64)], openRollups: Bool = true) throws {
            summary.ppmEstimates += analysis.ppmRowCount
            // Handed to the store's writer thread, which writes them while the next frames are computed.
            try store.writeResults(device: device.id, ppmRows: analysis.ppmRows,
                                   rollups: analysis.rollups.take(includingOpen: openRollups), alarms: alarms)
            for index in analysis.ppmRows.indices { analysis.ppmRows[index] = [] }
            analysis.ppmRowCount = 0
            summary.alarms += alarms.count
            summary.openAlarms += alarms.filter { $0.alarm.endedAt == nil }.count
        }
        var framesSinceCommit = 0
        while try frames.next() {
            analysis.process(frames, emitting: plan.emitFrom.map { frames.time >= $0 } ?? true)
            summary.frames += 1
            framesSinceCommit += 1
            if analysis.ppmRowCount + analysis.rollups.finishedCount >= 32_768 {
                try writeResults(alarms: [], openRollups: false)
            }
            if framesSinceCommit >= framesPerCommit {
                try writeResults(alarms: analysis.endedAlarms.map { ($0, $0.endedAt ?? $0.startedAt) })
                analysis.endedAlarms.removeAll()
                try checkpoint(analysis.state)
                framesSinceCommit = 0
            }
        }
        try writeResults(alarms: analysis.endedAlarms.map { ($0, $0.endedAt ?? $0.startedAt) }
                         + analysis.openAlarms(dataEnd: dataEnd))
        return analysis.state
    }

    /// Feeds the rollups what a continuing run's first hour already holds, `from ≤ time ≤ through`: the raw readings
    /// and the stored usable estimates, so that the hour's rows are rebuilt whole.
    private func feedAnalyzedPart(device: Int64, from: Int64, through: Int64, series: [(id: Int64, metric: String)],
                                  ppmSeries: [String: [Int64]], rollups: RollupBuilder,
                                  store: AnalysisStore) throws {
        let frames = try store.frames(device: device, series: series, after: from - 1, through: through)
        while try frames.next() {
            rollups.addFrame(time: frames.time)
            for (slot, value) in frames.values.enumerated() where !value.isNaN {
                rollups.add(slot, time: frames.time, value: value)
            }
        }
        for id in ppmSeries.values.joined() {
            guard let slot = rollups.slot(of: .ppm(id)) else { continue }
            try store.usableEstimates(device: device, ppmSeries: id, from: from, through: through) { time, ppm in
                rollups.add(slot, time: time, value: ppm)
            }
        }
    }
}
