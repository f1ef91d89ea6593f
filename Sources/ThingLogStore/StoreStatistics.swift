import FoundationEssentials
import Dispatch
import Glibc
import ThingLogCore

/// What `stats` reports about a store (SPEC §4 `stats`).
public struct StoreStatistics: Sendable, Equatable {
    public var devices: Int
    public var metrics: Int
    public var reports: Int
    public var readings: Int
    public var duplicates: Int
    public var duplicateReports: Int
    public var rejects: [String: Int]
    public var firstTS: Int64?
    public var lastTS: Int64?
    public var databaseBytes: Int64
    public var outOfRangeReadings: Int
    public var unknownPropertyReadings: Int
    /// Readings left out, by reason (SPEC §5: `bad_property`, `series_limit`, `device_limit`).
    public var dropped: [String: Int]

    public var bytesPerReading: Double? { readings > 0 ? Double(databaseBytes) / Double(readings) : nil }

    /// Reads the statistics through any connection to the store.
    public static func read(from database: Database) throws(SQLiteError) -> StoreStatistics {
        func count(_ sql: String) throws(SQLiteError) -> Int {
            Int(try database.scalar(sql)?.int64Value ?? 0)
        }
        func counter(_ name: String) throws(SQLiteError) -> Int {
            Int(try database.scalar("SELECT value FROM counters WHERE name = ?", [.text(name)])?.int64Value ?? 0)
        }
        var rejects: [String: Int] = [:]
        for row in try database.rows("SELECT reason, COUNT(*) FROM rejects GROUP BY reason") {
            if let reason = row[0].stringValue { rejects[reason] = Int(row[1].int64Value ?? 0) }
        }
        func dropped() throws(SQLiteError) -> [String: Int] {
            var counts: [String: Int] = [:]
            for reason in DropReason.allCases {
                let count = try counter(StoreCounter.dropped(reason))
                if count > 0 { counts[reason.rawValue] = count }
            }
            return counts
        }
        // Per-device minimum and maximum through the (device_id, ts) key: no full scan.
        let range = try database.rows("""
            SELECT MIN((SELECT MIN(ts) FROM frames WHERE device_id = d.id)),
                   MAX((SELECT MAX(ts) FROM frames WHERE device_id = d.id))
            FROM devices d
            """).first
        return StoreStatistics(
            devices: try count("SELECT COUNT(*) FROM devices"),
            metrics: try count("SELECT COUNT(DISTINCT metric) FROM series"),
            reports: try count("SELECT COUNT(*) FROM reports"),
            readings: try count(Schema.readingCount),
            duplicates: try counter(StoreCounter.duplicateReadings),
            duplicateReports: try counter(StoreCounter.duplicateReports),
            rejects: rejects,
            firstTS: range?[0].int64Value,
            lastTS: range?[1].int64Value,
            databaseBytes: fileSize(database.path) + fileSize(database.path + "-wal"),
            outOfRangeReadings: try counter(StoreCounter.outOfRangeReadings),
            unknownPropertyReadings: try counter(StoreCounter.unknownPropertyReadings),
            dropped: try dropped())
    }

    /// A file's size in bytes, 0 when there is none.
    static func fileSize(_ path: String) -> Int64 {
        var info = stat()
        return stat(path, &info) == 0 ? Int64(info.st_size) : 0
    }

    /// The store file and its write-ahead log, in bytes (`thinglog_db_bytes`); nil when there is no store.
    public static func storeBytes(path: String) -> Int64? {
        FileManager.default.fileExists(atPath: path) ? fileSize(path) + fileSize(path + "-wal") : nil
    }

    /// The SPEC's JSON object, keys in the SPEC's order.
    public var json: String {
        func object(_ counts: [String: Int]) -> String {
            "{" + counts.keys.sorted().map { "\(JSONWriter.quoted($0)):\(counts[$0] ?? 0)" }.joined(separator: ",")
                + "}"
        }
        let fields: [(String, String)] = [
            ("devices", String(devices)), ("metrics", String(metrics)), ("reports", String(reports)),
            ("readings", String(readings)), ("duplicates", String(duplicates)),
            ("rejects", object(rejects)), ("dropped", object(dropped)),
            ("first_ts", firstTS.map { JSONWriter.quoted(Timestamp.iso8601($0)) } ?? "null"),
            ("last_ts", lastTS.map { JSONWriter.quoted(Timestamp.iso8601($0)) } ?? "null"),
            ("db_bytes", String(databaseBytes)),
            ("bytes_per_reading", bytesPerReading.map { JSONWriter.number(($0 * 100).rounded() / 100) } ?? "null"),
        ]
        return "{" + fields.map { "\(JSONWriter.quoted($0.0)):\($0.1)" }.joined(separator: ",") + "}"
    }
}
