/// One item handed to the store: a parsed message or a quarantined input.
public enum StoreEntry: Sendable {
    case accepted(IncomingMessage, ParsedMessage)
    case rejected(Rejection)
}

/// Appends messages to the store inside transactions (SPEC §5): interns devices, series and topics, gives readings
/// their time, drops duplicates and quarantines rejects. The only writer of raw history.
///
/// Use `append(_:)` for a batch in one transaction, or `begin()`, `write(_:)`…, `commit()` to stream a large batch
/// without holding it in memory.
public final class StoreWriter {
    public let database: Database
    public let limits: IngestLimits
    private var devices: [DeviceKey: DeviceState] = [:]
    private var series: [SeriesKey: Int64] = [:]
    private var topics: [ExactName: Int64] = [:]
    /// Devices that have series (SPEC §5 `limits.devices`), read from the store when nil.
    private var devicesWithSeries: Int?
    private var methods: [String: Int64] = [:]
    private var transactionSummary = AppendSummary()
    private var cachedSeriesCount = 0
    private var cacheKibibytes: Int64 = 0
    private let insertReport: Statement
    /// `insertReadings[k - 1]` inserts k readings in one statement.
    private var insertReadings: [Statement] = []
    static let readingsPerStatement = 8
    private let findRecorded: Statement
    private let findRedelivered: Statement
    private let findReceiveTimed: Statement
    private let findDevice: Statement

    /// A redelivery is recognised among reports received this long before it (SPEC §5).
    static let redeliveryWindow: Int64 = 10 * 60_000
    /// Most devices or topics the writer keeps in its caches between commits.
    static let maximumCachedNames = 50_000
    /// Longest topic text kept with a reject.
    static let maximumRejectTopicBytes = 1024

    private struct DeviceKey: Hashable {
        var product: ExactName
        var name: ExactName
    }

    private struct DeviceState {
        var id: Int64
        /// The latest ts given to one of its receive-timed reports: a later receive time is always free.
        var lastReceiveTS: Int64?
        /// The receive-timed milliseconds it holds near the newest ones.
        var slots: ReceiveTimeSlots
        var isDirty = false
        var seriesCount: Int
        /// The metric names of the device's previous report and their series ids (nil: readings left out): devices
        /// repeat one layout, so this spares a dictionary lookup per reading.
        var lastMetrics: [String] = []
        var lastSeriesIDs: [Int64?] = []
    }

    private struct SeriesKey: Hashable {
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

    public init(database: Database, limits: IngestLimits = .default,
                minimumCacheMebibytes: Int = 16) throws(SQLiteError) {
        self.database = database
        self.limits = limits
        minimumCacheBytes = Int64(minimumCacheMebibytes) * 1024 * 1024
        insertReport = try database.prepare("""
            INSERT INTO reports(device_id, topic_id, method_id, received_at, ts_offset, packet_id, flags, payload)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """)
        for count in 1...Self.readingsPerStatement {
            insertReadings.append(try database.prepare("INSERT OR IGNORE INTO readings(series_id, ts, value) VALUES "
                + Array(repeating: "(?, ?, ?)", count: count).joined(separator: ", ")))
        }
        findRecorded = try database.prepare("""
            SELECT 1 FROM reports WHERE device_id = ? AND received_at = ? AND (flags & 48) != 0 AND payload = ?
            LIMIT 1
            """)
        findRedelivered = try database.prepare("""
            SELECT 1 FROM reports WHERE device_id = ? AND received_at >= ? AND (flags & 48) != 0
            AND packet_id = ? AND payload = ? LIMIT 1
            """)
        findReceiveTimed = try database.prepare("""
            SELECT received_at + ts_offset FROM reports WHERE device_id = ? AND received_at BETWEEN ? AND ?
            AND (flags & 48) != 0 AND (flags & 16) != 0 AND method_id = ?
            """)
        findDevice = try database.prepare("""
            SELECT id, last_receive_ts, (SELECT COUNT(*) FROM series WHERE device_id = devices.id) FROM devices
            WHERE product = ? AND name = ?
            """)
        for row in try database.rows("SELECT name, id FROM methods") {
            if let name = row[0].stringValue, let id = row[1].int64Value { methods[name] = id }
        }
    }

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

    /// Starts a write transaction.
    public func begin() throws {
        try database.begin(.write)
        transactionSummary = AppendSummary()
    }

    /// Writes one entry inside the open transaction.
    public func write(_ entry: StoreEntry) throws {
        switch entry {
        case .accepted(let message, let parsed): try store(message, parsed)
        case .rejected(let rejection): try quarantine(rejection)
        }
    }

    /// Writes entries inside the open transaction.
    public func write(_ entries: [StoreEntry]) throws {
        for entry in entries { try write(entry) }
    }

    /// Writes one entry in a savepoint of its own, quarantining it when the store refuses it.
    private func writeIsolated(_ entry: StoreEntry) throws {
        guard case .accepted(let message, _) = entry else { return try write(entry) }
        let summaryBefore = transactionSummary
        try database.beginSavepoint()
        do {
            try write(entry)
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
        try database.rollbackToSavepoint()
        try persistDeviceClocks()
        forgetCaches()
    }

    /// Drops every cached id and clock; the next lookups read the store.
    private func forgetCaches() {
        devices.removeAll()
        series.removeAll()
        topics.removeAll()
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
        database.rollback()
        forgetCaches()
    }

    private func store(_ message: IncomingMessage, _ parsed: ParsedMessage) throws {
        let key = DeviceKey(product: ExactName(parsed.topic.product), name: ExactName(parsed.topic.device))
        var device = try deviceState(key)
        var flags: Int64 = 0
        if parsed.isClockSkewed { flags |= Flag.clockSkew }
        if parsed.outOfRangeCount > 0 { flags |= Flag.outOfRange }
        if parsed.unknownPropertyCount > 0 { flags |= Flag.unknownProperty }
        if message.isRedelivery { flags |= Flag.redelivered }
        if parsed.readings.isEmpty { flags |= Flag.noReadings }
        if parsed.deviceTimestamp == nil { flags |= Flag.receiveTime }

        // SPEC §5 whole-message idempotence, for the messages whose readings cannot reveal it.
        if flags & Flag.indexed != 0, try isArchived(message, deviceID: device.id) {
            transactionSummary.duplicateReports += 1
            transactionSummary.duplicateReadings += parsed.readings.count
            return
        }
        let ts: Int64
        if let deviceTimestamp = parsed.deviceTimestamp {
            ts = deviceTimestamp
        } else if parsed.method == "report" {
            // SPEC §5: receive time, or the next free millisecond of the device's receive-timed reports.
            guard let free = try freeMillisecond(from: message.receivedAt, device: device) else {
                try quarantine(Rejection(reason: .tooFast, detail: "no free millisecond within 1 s of the receive time "
                                         + "(too many reports without a timestamp)", topic: message.topic,
                                         receivedAt: message.receivedAt, bytes: message.payload))
                return
            }
            ts = free
            device.lastReceiveTS = max(device.lastReceiveTS ?? free, free)
            device.slots.take(free)
            device.isDirty = true
            devices[key] = device
        } else {
            ts = message.receivedAt
        }

        let seriesIDs = try seriesIDs(for: parsed.readings, device: &device, key: key)
        if parsed.invalidPropertyIDCount > 0 {
            transactionSummary.dropped[.badProperty, default: 0] += parsed.invalidPropertyIDCount
        }
        let kept = seriesIDs.indices.filter { seriesIDs[$0] != nil }
        if kept.isEmpty, !parsed.readings.isEmpty {
            // Every reading was left out by a limit: only the raw archive can tell a second copy of this report.
            flags |= Flag.noReadings
            if try isArchived(message, deviceID: device.id) {
                transactionSummary.duplicateReports += 1
                return
            }
        }
        var added = 0
        var offset = 0
        while offset < kept.count {
            let count = min(Self.readingsPerStatement, kept.count - offset)
            let statement = insertReadings[count - 1]
            statement.rewind()
            for index in 0..<count {
                let reading = kept[offset + index]
                let value = parsed.readings[reading].value
                statement.bind(seriesIDs[reading] ?? 0, at: 3 * index + 1)
                statement.bind(ts, at: 3 * index + 2)
                // Integral values bind as integers: the REAL column reads them back as reals but stores them in one
                // or two bytes instead of eight.
                if value == value.rounded(), abs(value) < 1e15 {
                    statement.bind(Int64(value), at: 3 * index + 3)
                } else {
                    statement.bind(value, at: 3 * index + 3)
                }
            }
            try statement.step()
            added += database.changes
            offset += count
        }
        transactionSummary.readings += added
        transactionSummary.duplicateReadings += kept.count - added
        // A device-timed report all of whose readings are stored already is the same report again: a redelivery,
        // or a recording ingested twice. A live report without the DUP flag is kept: a device may repeat itself.
        if added == 0, !kept.isEmpty, flags & Flag.indexed == 0, message.origin == .recorded || message.isRedelivery {
            transactionSummary.duplicateReports += 1
            return
        }

        insertReport.rewind()
        insertReport.bind(device.id, at: 1)
        insertReport.bind(try topicID(message.topic), at: 2)
        if let method = parsed.method, let methodID = methods[method] {
            insertReport.bind(methodID, at: 3)
        } else {
            insertReport.bindNull(at: 3)
        }
        insertReport.bind(message.receivedAt, at: 4)
        insertReport.bind(ts &- message.receivedAt, at: 5)
        if let packetID = message.packetID {
            insertReport.bind(Int64(packetID), at: 6)
        } else {
            insertReport.bindNull(at: 6)
        }
        insertReport.bind(flags, at: 7)
        message.payload.withUnsafeBufferPointer { insertReport.bindText($0, at: 8) }
        try insertReport.step()
        transactionSummary.reports += 1
        transactionSummary.outOfRangeReadings += parsed.outOfRangeCount
        transactionSummary.unknownPropertyReadings += parsed.unknownPropertyCount

        if !parsed.events.isEmpty {
            let reportID = database.lastInsertRowID
            let insertEvent = try database.cachedStatement(
                "INSERT INTO events(report_id, device_id, ts, event_id, type, params) VALUES (?, ?, ?, ?, ?, ?)")
            for event in parsed.events {
                try insertEvent.execute([.integer(reportID), .integer(device.id), .integer(event.timestamp ?? ts),
                                         .text(event.eventID), event.type.map(SQLiteValue.text) ?? .null,
                                         .text(event.params)])
            }
        }
    }

    /// Whether the raw archive already holds this message (SPEC §5): a recorded message with the same device,
    /// receive time and payload (the same file ingested twice), or a DUP-flagged MQTT redelivery matching a report
    /// of the last 10 minutes by packet id, device and payload.
    private func isArchived(_ message: IncomingMessage, deviceID: Int64) throws -> Bool {
        let statement: Statement
        switch message.origin {
        case .recorded:
            statement = findRecorded
            statement.rewind()
            statement.bind(deviceID, at: 1)
            statement.bind(message.receivedAt, at: 2)
            message.payload.withUnsafeBufferPointer { statement.bindText($0, at: 3) }
        case .live:
            guard message.isRedelivery, let packetID = message.packetID else { return false }
            statement = findRedelivered
            statement.rewind()
            statement.bind(deviceID, at: 1)
            statement.bind(message.receivedAt - Self.redeliveryWindow, at: 2)
            statement.bind(Int64(packetID), at: 3)
            message.payload.withUnsafeBufferPointer { statement.bindText($0, at: 4) }
        }
        defer { statement.rewind() }
        return try statement.step()
    }

    private func quarantine(_ rejection: Rejection) throws {
        let insert = try database.cachedStatement(
            "INSERT INTO rejects(received_at, topic, reason, detail, size, bytes) VALUES (?, ?, ?, ?, ?, ?)")
        let topic = rejection.topic.map {
            String(decoding: $0.utf8.prefix(Self.maximumRejectTopicBytes), as: UTF8.self)
        }
        try insert.execute([.integer(rejection.receivedAt), topic.map(SQLiteValue.text) ?? .null,
                            .text(rejection.reason.rawValue), .text(String(rejection.detail.prefix(500))),
                            .integer(Int64(rejection.size)), .blob(rejection.bytes)])
        transactionSummary.rejects[rejection.reason, default: 0] += 1
    }

    private func deviceState(_ key: DeviceKey) throws -> DeviceState {
        if let state = devices[key] { return state }
        findDevice.rewind()
        try findDevice.bind(.text(key.product.text), at: 1)
        try findDevice.bind(.text(key.name.text), at: 2)
        let state: DeviceState
        if try findDevice.step() {
            state = DeviceState(id: findDevice.int64(0),
                                lastReceiveTS: findDevice.isNull(1) ? nil : findDevice.int64(1),
                                slots: ReceiveTimeSlots(last: findDevice.isNull(1) ? nil : findDevice.int64(1)),
                                seriesCount: Int(findDevice.int64(2)))
            findDevice.rewind()
        } else {
            findDevice.rewind()
            try database.execute("INSERT INTO devices(product, name) VALUES (?, ?)",
                                 [.text(key.product.text), .text(key.name.text)])
            state = DeviceState(id: database.lastInsertRowID, lastReceiveTS: nil, slots: ReceiveTimeSlots(last: nil),
                                seriesCount: 0)
        }
        devices[key] = state
        return state
    }

    /// The ts for a receive-timed report received at `receivedAt`: that millisecond, or the next one that no other
    /// receive-timed report of the device holds, at most `ReceiveTimeSlots.slots` − 1 later; nil when all are taken.
    private func freeMillisecond(from receivedAt: Int64, device: DeviceState) throws -> Int64? {
        guard let last = device.lastReceiveTS, receivedAt <= last, let reportMethod = methods["report"] else {
            return receivedAt
        }
        if receivedAt >= device.slots.knownFrom { return device.slots.firstFree(from: receivedAt) }
        findReceiveTimed.rewind()
        findReceiveTimed.bind(device.id, at: 1)
        findReceiveTimed.bind(receivedAt &- ReceiveTimeSlots.slots, at: 2)
        findReceiveTimed.bind(receivedAt &+ ReceiveTimeSlots.slots, at: 3)
        findReceiveTimed.bind(reportMethod, at: 4)
        defer { findReceiveTimed.rewind() }
        var taken = Set<Int64>()
        while try findReceiveTimed.step() { taken.insert(findReceiveTimed.int64(0)) }
        return (0..<ReceiveTimeSlots.slots).lazy.map { receivedAt &+ $0 }.first { !taken.contains($0) }
    }

    /// Series ids for a report's readings (nil: left out by a limit, counted), reusing the device's previous layout
    /// when the metrics repeat.
    private func seriesIDs(for readings: [(metric: String, value: Double)], device: inout DeviceState,
                           key: DeviceKey) throws -> [Int64?] {
        if readings.count == device.lastMetrics.count,
           zip(readings, device.lastMetrics).allSatisfy({ hasSameBytes($0.metric, $1) }) {
            let reason: DropReason = device.seriesCount == 0 ? .deviceLimit : .seriesLimit
            for id in device.lastSeriesIDs where id == nil { transactionSummary.dropped[reason, default: 0] += 1 }
            return device.lastSeriesIDs
        }
        var ids: [Int64?] = []
        ids.reserveCapacity(readings.count)
        for reading in readings {
            let id = try seriesID(metric: reading.metric, device: &device)
            ids.append(id)
        }
        device.lastMetrics = readings.map(\.metric)
        device.lastSeriesIDs = ids
        devices[key] = device
        return ids
    }

    /// The series of `metric` for the device, created when new and the limits allow (SPEC §5); nil when left out.
    private func seriesID(metric: String, device: inout DeviceState) throws -> Int64? {
        let key = SeriesKey(deviceID: device.id, metric: ExactName(metric))
        if let id = series[key] { return id }
        if let existing = try database.scalar("SELECT id FROM series WHERE device_id = ? AND metric = ?",
                                              [.integer(device.id), .text(metric)])?.int64Value {
            series[key] = existing
            return existing
        }
        if device.seriesCount == 0 {
            let withSeries = try devicesWithSeries
                ?? Int(database.scalar("SELECT COUNT(DISTINCT device_id) FROM series")?.int64Value ?? 0)
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
        try database.execute("INSERT INTO series(device_id, metric) VALUES (?, ?)",
                             [.integer(device.id), .text(metric)])
        let id = database.lastInsertRowID
        device.seriesCount += 1
        series[key] = id
        return id
    }

    private func topicID(_ topic: String) throws -> Int64 {
        let key = ExactName(topic)
        if let id = topics[key] { return id }
        let id = try internedID(select: "SELECT id FROM topics WHERE topic = ?",
                                insert: "INSERT INTO topics(topic) VALUES (?)", [.text(topic)])
        topics[key] = id
        return id
    }

    /// The id of an interned row, inserting it when new.
    private func internedID(select: String, insert: String, _ values: [SQLiteValue]) throws -> Int64 {
        if let existing = try database.scalar(select, values)?.int64Value { return existing }
        try database.execute(insert, values)
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
        for (key, state) in devices where state.isDirty {
            try database.cachedStatement("UPDATE devices SET last_receive_ts = ? WHERE id = ?")
                .execute([state.lastReceiveTS.map(SQLiteValue.integer) ?? .null, .integer(state.id)])
            devices[key]?.isDirty = false
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
