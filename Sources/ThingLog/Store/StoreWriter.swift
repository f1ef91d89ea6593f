/// One item of a batch handed to the store: a parsed message or a quarantined input.
public enum StoreEntry: Sendable {
    case accepted(IncomingMessage, ParsedMessage)
    case rejected(Rejection)
}

/// What one or more batches did to the store.
public struct AppendSummary: Sendable, Equatable {
    public var reports = 0
    public var readings = 0
    /// Readings ignored as duplicates, including every reading of a report recognised as a redelivery.
    public var duplicateReadings = 0
    /// Whole reports ignored as redeliveries or as records ingested twice.
    public var duplicateReports = 0
    public var rejects: [RejectReason: Int] = [:]
    public var outOfRangeReadings = 0
    public var unknownPropertyReadings = 0

    public init() {}

    public var rejectCount: Int { rejects.values.reduce(0, +) }

    public mutating func add(_ other: AppendSummary) {
        reports += other.reports
        readings += other.readings
        duplicateReadings += other.duplicateReadings
        duplicateReports += other.duplicateReports
        outOfRangeReadings += other.outOfRangeReadings
        unknownPropertyReadings += other.unknownPropertyReadings
        rejects.merge(other.rejects, uniquingKeysWith: +)
    }
}

/// Appends batches of messages to the store, each batch in one transaction (SPEC §5): interns devices, series and
/// topics, gives readings their time, drops duplicates and quarantines rejects. The only writer of raw history.
public final class StoreWriter {
    public let database: Database
    private var devices: [String: DeviceState] = [:]
    private var series: [SeriesKey: Int64] = [:]
    private var topics: [String: Int64] = [:]
    private var methods: [String: Int64] = [:]

    /// A redelivery is recognised among reports received this long before it (SPEC §5).
    static let redeliveryWindow: Int64 = 10 * 60_000
    /// Longest topic text kept with a reject.
    static let maximumRejectTopicBytes = 1024

    private struct DeviceState {
        var id: Int64
        var lastReceiveTS: Int64?
        var isDirty = false
    }

    private struct SeriesKey: Hashable {
        var deviceID: Int64
        var metric: String
    }

    private enum Flag {
        static let clockSkew: Int64 = 1
        static let outOfRange: Int64 = 2
        static let unknownProperty: Int64 = 4
        static let redelivered: Int64 = 8
        static let receiveTime: Int64 = 16
    }

    public init(database: Database) throws(SQLiteError) {
        self.database = database
        for row in try database.rows("SELECT name, id FROM methods") {
            if let name = row[0].stringValue, let id = row[1].int64Value { methods[name] = id }
        }
    }

    /// Appends one batch in one transaction. On failure nothing of the batch is stored and the caches are dropped.
    @discardableResult
    public func append(_ entries: [StoreEntry]) throws -> AppendSummary {
        do {
            return try database.inTransaction {
                var summary = AppendSummary()
                for entry in entries {
                    switch entry {
                    case .accepted(let message, let parsed): try store(message, parsed, into: &summary)
                    case .rejected(let rejection): try quarantine(rejection, into: &summary)
                    }
                }
                try persistDeviceClocks()
                try addCounters(summary)
                return summary
            }
        } catch {
            devices.removeAll()
            series.removeAll()
            topics.removeAll()
            throw error
        }
    }

    private func store(_ message: IncomingMessage, _ parsed: ParsedMessage,
                       into summary: inout AppendSummary) throws {
        let deviceName = parsed.topic.device
        var device = try deviceState(named: deviceName, product: parsed.topic.product)
        if try isDuplicate(message, deviceID: device.id) {
            summary.duplicateReports += 1
            summary.duplicateReadings += parsed.readings.count
            return
        }
        var flags: Int64 = 0
        if parsed.isClockSkewed { flags |= Flag.clockSkew }
        if parsed.outOfRangeCount > 0 { flags |= Flag.outOfRange }
        if parsed.unknownPropertyCount > 0 { flags |= Flag.unknownProperty }
        if message.isRedelivery { flags |= Flag.redelivered }
        let ts: Int64
        if let deviceTimestamp = parsed.deviceTimestamp {
            ts = deviceTimestamp
        } else if parsed.method == "report" {
            // SPEC §5: receive time, strictly increasing per device.
            ts = max(message.receivedAt, (device.lastReceiveTS ?? Int64.min) &+ 1)
            device.lastReceiveTS = ts
            device.isDirty = true
            devices[deviceName] = device
            flags |= Flag.receiveTime
        } else {
            ts = message.receivedAt
        }

        let insertReport = try database.cached("""
            INSERT INTO reports(device_id, topic_id, method_id, received_at, ts, packet_id, flags, payload)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """)
        insertReport.bind(device.id, at: 1)
        insertReport.bind(try topicID(message.topic), at: 2)
        if let method = parsed.method, let methodID = methods[method] { insertReport.bind(methodID, at: 3) }
        insertReport.bind(message.receivedAt, at: 4)
        insertReport.bind(ts, at: 5)
        if let packetID = message.packetID { insertReport.bind(Int64(packetID), at: 6) }
        insertReport.bind(flags, at: 7)
        message.payload.withUnsafeBufferPointer { insertReport.bindText($0, at: 8) }
        try insertReport.step()
        let reportID = database.lastInsertRowID
        summary.reports += 1
        summary.outOfRangeReadings += parsed.outOfRangeCount
        summary.unknownPropertyReadings += parsed.unknownPropertyCount

        if !parsed.readings.isEmpty {
            let insertReading = try database.cached(
                "INSERT OR IGNORE INTO readings(series_id, ts, value) VALUES (?, ?, ?)")
            for reading in parsed.readings {
                insertReading.reset()
                insertReading.bind(try seriesID(deviceID: device.id, metric: reading.metric), at: 1)
                insertReading.bind(ts, at: 2)
                // Integral values bind as integers: the REAL column reads them back as reals but stores them
                // in one or two bytes instead of eight.
                if reading.value == reading.value.rounded(), abs(reading.value) < 1e15 {
                    insertReading.bind(Int64(reading.value), at: 3)
                } else {
                    insertReading.bind(reading.value, at: 3)
                }
                try insertReading.step()
                if database.changes == 1 { summary.readings += 1 } else { summary.duplicateReadings += 1 }
            }
        }
        if !parsed.events.isEmpty {
            let insertEvent = try database.cached(
                "INSERT INTO events(report_id, device_id, ts, event_id, type, params) VALUES (?, ?, ?, ?, ?, ?)")
            for event in parsed.events {
                try insertEvent.execute([.integer(reportID), .integer(device.id), .integer(event.timestamp ?? ts),
                                         .text(event.eventID), event.type.map(SQLiteValue.text) ?? .null,
                                         .text(event.params)])
            }
        }
    }

    /// SPEC §5 idempotence for whole messages: a DUP-flagged MQTT redelivery matching a report of the last
    /// 10 minutes by packet id, device and payload; or a recorded message whose topic device, receive time and
    /// payload are already archived (the same file ingested twice).
    private func isDuplicate(_ message: IncomingMessage, deviceID: Int64) throws -> Bool {
        let statement: Statement
        switch message.origin {
        case .recorded:
            statement = try database.cached(
                "SELECT 1 FROM reports WHERE device_id = ? AND received_at = ? AND payload = ? LIMIT 1")
            statement.bind(deviceID, at: 1)
            statement.bind(message.receivedAt, at: 2)
            message.payload.withUnsafeBufferPointer { statement.bindText($0, at: 3) }
        case .live:
            guard message.isRedelivery, let packetID = message.packetID else { return false }
            statement = try database.cached("""
                SELECT 1 FROM reports WHERE device_id = ? AND received_at >= ? AND packet_id = ? AND payload = ?
                LIMIT 1
                """)
            statement.bind(deviceID, at: 1)
            statement.bind(message.receivedAt - Self.redeliveryWindow, at: 2)
            statement.bind(Int64(packetID), at: 3)
            message.payload.withUnsafeBufferPointer { statement.bindText($0, at: 4) }
        }
        defer { statement.reset() }
        return try statement.step()
    }

    private func quarantine(_ rejection: Rejection, into summary: inout AppendSummary) throws {
        let insert = try database.cached(
            "INSERT INTO rejects(received_at, topic, reason, detail, size, bytes) VALUES (?, ?, ?, ?, ?, ?)")
        let topic = rejection.topic.map { String(decoding: $0.utf8.prefix(Self.maximumRejectTopicBytes), as: UTF8.self) }
        try insert.execute([.integer(rejection.receivedAt), topic.map(SQLiteValue.text) ?? .null,
                            .text(rejection.reason.rawValue), .text(String(rejection.detail.prefix(500))),
                            .integer(Int64(rejection.size)), .blob(rejection.bytes)])
        summary.rejects[rejection.reason, default: 0] += 1
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

    private func seriesID(deviceID: Int64, metric: String) throws -> Int64 {
        let key = SeriesKey(deviceID: deviceID, metric: metric)
        if let id = series[key] { return id }
        let id: Int64
        if let existing = try database.scalar("SELECT id FROM series WHERE device_id = ? AND metric = ?",
                                              [.integer(deviceID), .text(metric)])?.int64Value {
            id = existing
        } else {
            try database.execute("INSERT INTO series(device_id, metric) VALUES (?, ?)",
                                 [.integer(deviceID), .text(metric)])
            id = database.lastInsertRowID
        }
        series[key] = id
        return id
    }

    private func topicID(_ topic: String) throws -> Int64 {
        if let id = topics[topic] { return id }
        let id: Int64
        if let existing = try database.scalar("SELECT id FROM topics WHERE topic = ?", [.text(topic)])?.int64Value {
            id = existing
        } else {
            try database.execute("INSERT INTO topics(topic) VALUES (?)", [.text(topic)])
            id = database.lastInsertRowID
        }
        topics[topic] = id
        return id
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
