import ThingLogCore

/// Appends messages to the store inside transactions (SPEC §5): interns devices, series and topics, gives readings
/// their time, drops duplicates and quarantines rejects. The only writer of raw history.
///
/// Use `append(_:)` for a batch in one transaction, or `begin()`, `write(_:)`…, `commit()` to stream a large batch
/// without holding it in memory.
public final class StoreWriter {
    public let database: Database
    public let limits: IngestLimits
    var devices: [DeviceKey: DeviceState] = [:]
    /// The same states by topic storage (`deviceState(of:_:)`), one per slot; emptied with `devices`.
    var devicesByTopic = DevicesByTopic()
    var series: [SeriesKey: Int64] = [:]
    var topics: [ExactName: Int64] = [:]
    /// Devices that have series (SPEC §5 `limits.devices`), read from the store when nil.
    var devicesWithSeries: Int?
    var methods: [String: Int64] = [:]
    /// `methods["report"]`, the method of nearly every message.
    var reportMethodID: Int64?
    var transactionSummary = AppendSummary()
    var cachedSeriesCount = 0
    var cacheKibibytes: Int64 = 0
    /// Batches `append` wrote again entry by entry, after the store refused one of their entries.
    private(set) var batchesWrittenEntryByEntry = 0
    /// Report rows not inserted yet (`ReportRows`).
    var reportRows: ReportRows
    let shapes: ReportShapes
    let layouts: FrameLayouts
    /// Frames not inserted yet (`FrameRows`).
    var frameRows: FrameRows
    let findStoredSeries: Statement
    /// `PRAGMA data_version` at the last `begin()`: another connection's commit changes it (the device states go).
    var dataVersion: Int64?
    let findRecorded: Statement
    let findRedelivered: Statement
    let findReceiveTimed: Statement
    let findDevice: Statement
    /// Copies the log into the store file off the writer's thread: commits never wait for a checkpoint.
    let logCopier: LogCopier

    /// A redelivery is recognised among reports received this long before it (SPEC §5).
    static let redeliveryWindow: Int64 = 10 * 60_000
    /// Most devices or topics the writer keeps in its caches between commits.
    static let maximumCachedNames = 50_000
    /// Longest topic text kept with a reject.
    static let maximumRejectTopicBytes = 1024

    struct SeriesKey: Hashable {
        var deviceID: Int64
        var metric: ExactName
    }

    /// Bits of `reports.flags`.
    enum Flag {
        static let clockSkew: Int64 = 1
        static let outOfRange: Int64 = 2
        static let unknownProperty: Int64 = 4
        static let redelivered: Int64 = 8
        static let receiveTime: Int64 = 16
        static let noReadings: Int64 = 32
        /// Reports whose duplicates only the raw archive can reveal (the partial index's condition).
        static let indexed: Int64 = receiveTime | noReadings
    }

    /// The page cache never shrinks below this (it grows with the number of series).
    public let minimumCacheBytes: Int64

    /// The log is copied into the store file in the background after each `logCopyFrames` new pages (SQLite's
    /// default automatic checkpoint), and by the writer itself past `LogCopier.longLogFactor` times that (see
    /// `LogCopier`). A quarter of that leaves less to copy when a subscriber stops (its drain 2 % faster), but the
    /// extra syncs of the store file compete with the commits' (`receive` at one envelope per request 9 % slower).
    public init(database: Database, limits: IngestLimits = .default, minimumCacheMebibytes: Int = 16,
                logCopyFrames: Int32 = 1000) throws(SQLiteError) {
        self.database = database
        self.limits = limits
        minimumCacheBytes = Int64(minimumCacheMebibytes) * 1024 * 1024
        reportRows = try ReportRows(database: database)
        shapes = try ReportShapes(database: database)
        layouts = try FrameLayouts(database: database)
        frameRows = try FrameRows(database: database)
        findStoredSeries = try database.prepare("""
            SELECT l.series_id FROM frames f JOIN layout_series l ON l.layout_id = f.layout_id
            WHERE f.device_id = ? AND f.ts = ?
            """)
        findRecorded = try database.prepare("""
            SELECT 1 FROM reports r JOIN report_shapes s ON s.id = r.shape_id
            WHERE r.device_id = ? AND r.received_at = ? AND (r.flags & 48) != 0
            AND thinglog_payload_if_intact(s.shape, r.content, r.received_at) = ? LIMIT 1
            """)
        findRedelivered = try database.prepare("""
            SELECT 1 FROM reports r JOIN report_shapes s ON s.id = r.shape_id
            WHERE r.device_id = ? AND r.received_at >= ? AND (r.flags & 48) != 0 AND r.packet_id = ?
            AND thinglog_payload_if_intact(s.shape, r.content, r.received_at) = ? LIMIT 1
            """)
        findReceiveTimed = try database.prepare("""
            SELECT r.received_at + r.ts_offset FROM reports r JOIN report_shapes s ON s.id = r.shape_id
            WHERE r.device_id = ? AND r.received_at BETWEEN ? AND ? AND (r.flags & 48) != 0 AND (r.flags & 16) != 0
            AND s.method_id = ?
            """)
        findDevice = try database.prepare("""
            SELECT id, last_receive_ts, (SELECT COUNT(*) FROM series WHERE device_id = devices.id),
                   (SELECT MAX(ts) FROM frames WHERE device_id = devices.id)
            FROM devices WHERE product = ? AND name = ?
            """)
        for row in try database.rows("SELECT name, id FROM methods") {
            if let name = row[0].stringValue, let id = row[1].int64Value { methods[name] = id }
        }
        reportMethodID = methods["report"]
        logCopier = try LogCopier(writer: database, thresholdFrames: logCopyFrames,
                                  maximumFrames: LogCopier.longLogFactor * logCopyFrames)
    }

    deinit { logCopier.close() }

    /// Appends one batch in one transaction. When the store refuses an entry for a reason of that entry's own (a
    /// constraint, a value too big; not I/O, not a busy store), the batch is rolled back and written again entry by
    /// entry, each refused entry quarantined as `unstorable`: no message can stop a subscriber, and it can still
    /// acknowledge every message of the batch (SPEC §5). On any other failure nothing of the batch is stored.
    @discardableResult
    public func append(_ entries: [StoreEntry]) throws -> AppendSummary {
        try begin()
        do {
            try write(entries)
        } catch let error as SQLiteError where Self.isCausedByEntry(error) {
            rollback()
            batchesWrittenEntryByEntry += 1
            try begin()
            do {
                for entry in entries { try writeIsolated(entry) }
            } catch {
                rollback()
                throw error
            }
        } catch {
            rollback()
            throw error
        }
        return try commit()
    }

    /// The writer will close soon: from now on its log is copied into the store file after every commit (in the
    /// background, while it writes what is left), so that closing has little left to copy.
    public func prepareToClose() {
        logCopier.copiesEveryCommit = true
    }

    /// Starts a write transaction.
    public func begin() throws {
        // A store renamed, deleted or replaced under a running writer is an outage (issue 15), not a place to write.
        guard !database.fileHasMoved else {
            throw SQLiteError(code: SQLiteError.Code.cantOpen,
                              message: "the store file \(database.path) was moved, deleted or replaced")
        }
        logCopier.startOverIfLong()
        try database.begin(.write)
        // Another connection's commit (a second writer; `analyze` commits too, but never frames or reports) may
        // have stored what the device states do not know: newer frames, receive-timed slots. Ids of interned rows
        // stay right whoever wrote them.
        let version = try database.cachedScalar("PRAGMA data_version")?.int64Value
        if version != dataVersion {
            devices.removeAll()
            devicesByTopic = DevicesByTopic()
            devicesWithSeries = nil
            dataVersion = version
        }
        transactionSummary = AppendSummary()
    }

    /// Writes one entry inside the open transaction.
    public func write(_ entry: StoreEntry) throws {
        switch entry {
        case .accepted(let accepted): try store(accepted.message, accepted.parsed)
        case .rejected(let rejection): try quarantine(rejection)
        }
    }

    /// Writes entries inside the open transaction.
    public func write(_ entries: [StoreEntry]) throws {
        for entry in entries { try write(entry) }
        try flushRows()
    }

    /// Inserts the frames and report rows waiting (`FrameRows`, `ReportRows`).
    private func flushRows() throws {
        try frameRows.flush()
        try reportRows.flush()
    }

    /// Drops the rows waiting: their transaction or savepoint was rolled back.
    private func discardRows() {
        frameRows.discard()
        reportRows.discard()
    }

    /// Writes one entry in a savepoint of its own, quarantining it when the store refuses it.
    private func writeIsolated(_ entry: StoreEntry) throws {
        guard case .accepted(let accepted) = entry else { return try write(entry) }
        let message = accepted.message
        let summaryBefore = transactionSummary
        try database.beginSavepoint()
        do {
            try write(entry)
            try flushRows()
            try database.releaseSavepoint()
        } catch let error as SQLiteError where Self.isCausedByEntry(error) {
            try undoSavepoint()
            transactionSummary = summaryBefore
            try quarantine(Rejection(reason: .unstorable, detail: "the store refused it: \(error.message)",
                                     topic: message.topic, receivedAt: message.receivedAt, bytes: message.payload))
        }
    }

    /// Rolls back to the entry's savepoint. Cached ids may name rows it removed, so the caches are dropped; the
    /// device clocks are written first (a clock that is ahead only makes later lookups slower, never wrong). Only
    /// the slow path of `append` takes savepoints: on the fast path one would copy every page it changes.
    private func undoSavepoint() throws {
        discardRows()
        try database.rollbackToSavepoint()
        try persistDeviceClocks()
        forgetCaches()
    }

    /// Drops every cached id and clock; the next lookups read the store.
    private func forgetCaches() {
        devices.removeAll()
        devicesByTopic = DevicesByTopic()
        series.removeAll()
        topics.removeAll()
        shapes.forget()
        layouts.forget()
        devicesWithSeries = nil
    }

    /// Whether an error is about the entry being written rather than the store (SQLITE_TOOBIG, SQLITE_CONSTRAINT,
    /// SQLITE_MISMATCH, SQLITE_RANGE).
    static func isCausedByEntry(_ error: SQLiteError) -> Bool {
        typealias Code = SQLiteError.Code
        return [Code.tooBig, Code.constraint, Code.mismatch, Code.range].contains(error.code)
    }

    /// Commits the open transaction and returns what it stored. On failure the transaction is rolled back.
    public func commit() throws -> AppendSummary {
        do {
            try flushRows()
            try persistDeviceClocks()
            try addCounters(transactionSummary)
            try database.commit()
            try sizeCacheToHotSet()
            // Names a long-running subscriber sees churn: the caches are rebuilt from the store past a bound, so
            // memory does not grow with every device name ever seen (SPEC §5).
            if devices.count > Self.maximumCachedNames || topics.count > Self.maximumCachedNames {
                forgetCaches()
            }
        } catch {
            rollback()
            throw error
        }
        return transactionSummary
    }

    /// Abandons the open transaction; cached ids and clocks are dropped, as they may name rolled-back rows.
    public func rollback() {
        discardRows()
        database.rollback()
        forgetCaches()
    }

    /// Series ids for a report's readings (nil: left out by a limit, counted), reusing the device's previous layout
    /// when the metrics repeat.
    func seriesIDs(for parsed: ParsedMessage, device: DeviceState) throws -> [Int64?] {
        let readings = parsed.readings
        let isSameLayout = parsed.metricsIdentity != nil && parsed.metricsIdentity == device.lastMetricsIdentity
        if isSameLayout || readings.count == device.lastMetrics.count
            && zip(readings, device.lastMetrics).allSatisfy({ hasSameBytes($0.metric, $1) }) {
            let reason: DropReason = device.seriesCount == 0 ? .deviceLimit : .seriesLimit
            for id in device.lastSeriesIDs where id == nil { transactionSummary.dropped[reason, default: 0] += 1 }
            return device.lastSeriesIDs
        }
        var ids: [Int64?] = []
        ids.reserveCapacity(readings.count)
        for reading in readings {
            let id = try seriesID(metric: reading.metric, device: device)
            ids.append(id)
        }
        device.lastMetrics = readings.map(\.metric)
        device.lastSeriesIDs = ids
        device.lastMetricsIdentity = parsed.metricsIdentity
        return ids
    }

    /// The series of `metric` for the device, created when new and the limits allow (SPEC §5); nil when left out.
    private func seriesID(metric: String, device: DeviceState) throws -> Int64? {
        let key = SeriesKey(deviceID: device.id, metric: ExactName(metric))
        if let id = series[key] { return id }
        if let existing = try database.cachedScalar("SELECT id FROM series WHERE device_id = ? AND metric = ?",
                                              [.integer(device.id), .text(metric)])?.int64Value {
            series[key] = existing
            return existing
        }
        if device.seriesCount == 0 {
            let withSeries = try devicesWithSeries
                ?? Int(database.cachedScalar("SELECT COUNT(DISTINCT device_id) FROM series")?.int64Value ?? 0)
            guard withSeries < limits.devices else {
                devicesWithSeries = withSeries
                transactionSummary.dropped[.deviceLimit, default: 0] += 1
                return nil
            }
            devicesWithSeries = withSeries + 1
        } else if device.seriesCount >= limits.seriesPerDevice {
            transactionSummary.dropped[.seriesLimit, default: 0] += 1
            return nil
        }
        try database.cachedStatement("INSERT INTO series(device_id, metric) VALUES (?, ?)")
            .execute([.integer(device.id), .text(metric)])
        let id = database.lastInsertRowID
        device.seriesCount += 1
        series[key] = id
        return id
    }

    /// The id of a message's method (nil: none, or one the store does not list).
    func methodID(_ method: String?) -> Int64? {
        guard let method else { return nil }
        return method == "report" ? reportMethodID : methods[method]
    }

    func topicID(_ topic: String) throws -> Int64 {
        let key = ExactName(topic)
        if let id = topics[key] { return id }
        let id = try internedID(select: "SELECT id FROM topics WHERE topic = ?",
                                insert: "INSERT INTO topics(topic) VALUES (?)", [.text(topic)])
        topics[key] = id
        return id
    }

    /// The id of an interned row, inserting it when new.
    private func internedID(select: String, insert: String, _ values: [SQLiteValue]) throws -> Int64 {
        if let existing = try database.cachedScalar(select, values)?.int64Value { return existing }
        try database.cachedStatement(insert).execute(values)
        return database.lastInsertRowID
    }

    /// Appends touch the last page of every series: keep the page cache large enough to hold them all (plus half the
    /// minimum again for the archive and interior pages), so a large fleet does not thrash it. Grows only.
    private func sizeCacheToHotSet() throws {
        guard series.count > cachedSeriesCount + 64 || cachedSeriesCount == 0 else { return }
        cachedSeriesCount = series.count
        let pageSize = try database.scalar("PRAGMA page_size")?.int64Value ?? 4096
        let hotSet = Int64(series.count) * pageSize * 3 / 2 + minimumCacheBytes / 2
        let kibibytes = min(max(hotSet, minimumCacheBytes), 512 * 1024 * 1024) / 1024
        if kibibytes > cacheKibibytes {
            cacheKibibytes = kibibytes
            try database.execute("PRAGMA cache_size=-\(kibibytes)")
        }
    }

    private func persistDeviceClocks() throws {
        for state in devices.values where state.isDirty {
            try database.cachedStatement("UPDATE devices SET last_receive_ts = ? WHERE id = ?")
                .execute([state.lastReceiveTS.map(SQLiteValue.integer) ?? .null, .integer(state.id)])
            state.isDirty = false
        }
    }

    private func addCounters(_ summary: AppendSummary) throws {
        let increments: [(String, Int)] = [
            (StoreCounter.duplicateReadings, summary.duplicateReadings),
            (StoreCounter.duplicateReports, summary.duplicateReports),
            (StoreCounter.outOfRangeReadings, summary.outOfRangeReadings),
            (StoreCounter.unknownPropertyReadings, summary.unknownPropertyReadings),
        ] + summary.dropped.map { (StoreCounter.dropped($0.key), $0.value) }
        for (name, increment) in increments where increment > 0 {
            try database.cachedStatement("""
                INSERT INTO counters(name, value) VALUES (?, ?)
                ON CONFLICT(name) DO UPDATE SET value = value + excluded.value
                """).execute([.text(name), .integer(Int64(increment))])
        }
    }
}

/// Names of the running totals kept in the `counters` table.
public enum StoreCounter {
    public static let duplicateReadings = "duplicate_readings"
    public static let duplicateReports = "duplicate_reports"
    public static let outOfRangeReadings = "out_of_range_readings"
    public static let unknownPropertyReadings = "unknown_property_readings"
    /// Readings left out for `reason` (SPEC §5).
    public static func dropped(_ reason: DropReason) -> String { "dropped_\(reason.rawValue)" }
}
