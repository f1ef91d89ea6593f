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
    private var devices: [String: DeviceState] = [:]
    private var series: [SeriesKey: Int64] = [:]
    private var topics: [String: Int64] = [:]
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

    /// A redelivery is recognised among reports received this long before it (SPEC §5).
    static let redeliveryWindow: Int64 = 10 * 60_000
    /// Longest topic text kept with a reject.
    static let maximumRejectTopicBytes = 1024

    private struct DeviceState {
        var id: Int64
        var lastReceiveTS: Int64?
        var isDirty = false
        /// The metric names of the device's previous report and their series ids: devices repeat one layout, so
        /// this spares a dictionary lookup per reading.
        var lastMetrics: [String] = []
        var lastSeriesIDs: [Int64] = []
    }

    private struct SeriesKey: Hashable {
        var deviceID: Int64
        var metric: String
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

    public init(database: Database, minimumCacheMebibytes: Int = 16) throws(SQLiteError) {
        self.database = database
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
        for row in try database.rows("SELECT name, id FROM methods") {
            if let name = row[0].stringValue, let id = row[1].int64Value { methods[name] = id }
        }
    }

    /// Appends one batch in one transaction. On failure nothing of the batch is stored.
    @discardableResult
    public func append(_ entries: [StoreEntry]) throws -> AppendSummary {
        try begin()
        do {
            for entry in entries { try write(entry) }
        } catch {
            rollback()
            throw error
        }
        return try commit()
    }

    /// Starts a write transaction.
    public func begin() throws {
        try database.execute("BEGIN IMMEDIATE")
        transactionSummary = AppendSummary()
    }

    /// Writes one entry inside the open transaction.
    public func write(_ entry: StoreEntry) throws {
        switch entry {
        case .accepted(let message, let parsed): try store(message, parsed)
        case .rejected(let rejection): try quarantine(rejection)
        }
    }

    /// Commits the open transaction and returns what it stored. On failure the transaction is rolled back.
    public func commit() throws -> AppendSummary {
        do {
            try persistDeviceClocks()
            try addCounters(transactionSummary)
            try database.execute("COMMIT")
            try sizeCacheToHotSet()
        } catch {
            rollback()
            throw error
        }
        return transactionSummary
    }

    /// Abandons the open transaction; cached ids and clocks are dropped, as they may name rolled-back rows.
    public func rollback() {
        if database.isInTransaction { try? database.execute("ROLLBACK") }
        devices.removeAll()
        series.removeAll()
        topics.removeAll()
    }

    private func store(_ message: IncomingMessage, _ parsed: ParsedMessage) throws {
        let deviceName = parsed.topic.device
        var device = try deviceState(named: deviceName, product: parsed.topic.product)
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
            // SPEC §5: receive time, made strictly increasing per device.
            ts = max(message.receivedAt, (device.lastReceiveTS ?? Int64.min) &+ 1)
            device.lastReceiveTS = ts
            device.isDirty = true
            devices[deviceName] = device
        } else {
            ts = message.receivedAt
        }

        let seriesIDs = try seriesIDs(for: parsed.readings, device: &device, name: deviceName)
        var added = 0
        var offset = 0
        while offset < parsed.readings.count {
            let count = min(Self.readingsPerStatement, parsed.readings.count - offset)
            let statement = insertReadings[count - 1]
            statement.rewind()
            for index in 0..<count {
                let value = parsed.readings[offset + index].value
                statement.bind(seriesIDs[offset + index], at: 3 * index + 1)
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
        transactionSummary.duplicateReadings += parsed.readings.count - added
        // A device-timed report all of whose readings are stored already is the same report again: a redelivery,
        // or a recording ingested twice. A live report without the DUP flag is kept: a device may repeat itself.
        if added == 0, flags & Flag.indexed == 0, message.origin == .recorded || message.isRedelivery {
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
            let insertEvent = try database.cached(
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
        let insert = try database.cached(
            "INSERT INTO rejects(received_at, topic, reason, detail, size, bytes) VALUES (?, ?, ?, ?, ?, ?)")
        let topic = rejection.topic.map {
            String(decoding: $0.utf8.prefix(Self.maximumRejectTopicBytes), as: UTF8.self)
        }
        try insert.execute([.integer(rejection.receivedAt), topic.map(SQLiteValue.text) ?? .null,
                            .text(rejection.reason.rawValue), .text(String(rejection.detail.prefix(500))),
                            .integer(Int64(rejection.size)), .blob(rejection.bytes)])
        transactionSummary.rejects[rejection.reason, default: 0] += 1
    }

    private func deviceState(named name: String, product: String) throws -> DeviceState {
        if let state = devices[name] { return state }
        let state: DeviceState
        if let row = try database.rows("SELECT id, last_receive_ts FROM devices WHERE name = ?", [.text(name)]).first,
           let id = row[0].int64Value {
            state = DeviceState(id: id, lastReceiveTS: row[1].int64Value)
        } else {
            try database.execute("INSERT INTO devices(name, product) VALUES (?, ?)", [.text(name), .text(product)])
            state = DeviceState(id: database.lastInsertRowID, lastReceiveTS: nil)
        }
        devices[name] = state
        return state
    }

    /// Series ids for a report's readings, reusing the device's previous layout when the metrics repeat.
    private func seriesIDs(for readings: [(metric: String, value: Double)], device: inout DeviceState,
                           name: String) throws -> [Int64] {
        if readings.count == device.lastMetrics.count,
           zip(readings, device.lastMetrics).allSatisfy({ $0.metric == $1 }) {
            return device.lastSeriesIDs
        }
        var ids: [Int64] = []
        ids.reserveCapacity(readings.count)
        for reading in readings { ids.append(try seriesID(deviceID: device.id, metric: reading.metric)) }
        device.lastMetrics = readings.map(\.metric)
        device.lastSeriesIDs = ids
        devices[name] = device
        return ids
    }

    private func seriesID(deviceID: Int64, metric: String) throws -> Int64 {
        let key = SeriesKey(deviceID: deviceID, metric: metric)
        if let id = series[key] { return id }
        let id = try internedID(select: "SELECT id FROM series WHERE device_id = ? AND metric = ?",
                                insert: "INSERT INTO series(device_id, metric) VALUES (?, ?)",
                                [.integer(deviceID), .text(metric)])
        series[key] = id
        return id
    }

    private func topicID(_ topic: String) throws -> Int64 {
        if let id = topics[topic] { return id }
        let id = try internedID(select: "SELECT id FROM topics WHERE topic = ?",
                                insert: "INSERT INTO topics(topic) VALUES (?)", [.text(topic)])
        topics[topic] = id
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
        for (name, state) in devices where state.isDirty {
            try database.execute("UPDATE devices SET last_receive_ts = ? WHERE id = ?",
                                 [state.lastReceiveTS.map(SQLiteValue.integer) ?? .null, .integer(state.id)])
            devices[name]?.isDirty = false
        }
    }

    private func addCounters(_ summary: AppendSummary) throws {
        let increments: [(String, Int)] = [
            (StoreCounter.duplicateReadings, summary.duplicateReadings),
            (StoreCounter.duplicateReports, summary.duplicateReports),
            (StoreCounter.outOfRangeReadings, summary.outOfRangeReadings),
            (StoreCounter.unknownPropertyReadings, summary.unknownPropertyReadings),
        ]
        for (name, increment) in increments where increment > 0 {
            try database.execute("""
                INSERT INTO counters(name, value) VALUES (?, ?)
                ON CONFLICT(name) DO UPDATE SET value = value + excluded.value
                """, [.text(name), .integer(Int64(increment))])
        }
    }
}

/// Names of the running totals kept in the `counters` table.
public enum StoreCounter {
    public static let duplicateReadings = "duplicate_readings"
    public static let duplicateReports = "duplicate_reports"
    public static let outOfRangeReadings = "out_of_range_readings"
    public static let unknownPropertyReadings = "unknown_property_readings"
}
