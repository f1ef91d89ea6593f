import FoundationEssentials
import Dispatch
import Glibc
import ThingLogCore

/// What `thinglog check` reads (issue 15): the store's integrity, schema version, write-ahead log size, the free
/// disk beside it, the newest reading of each device and how far `analyze` is behind. Read-only, one snapshot.
public struct StoreCheck: Sendable {
    /// A device and the time of its newest reading (nil: none yet).
    public struct Device: Sendable {
        public var product: String
        public var name: String
        public var newest: Int64?
    }

    /// `ok`, or the first problems `quick_check` (`integrity_check` when full) found.
    public var integrity: [String]
    public var isFullCheck: Bool
    public var schemaVersion: Int
    public var databaseBytes: Int64
    public var walBytes: Int64
    /// Free bytes for an unprivileged writer on the store's filesystem.
    public var freeBytes: Int64
    public var devices: [Device]
    public var analyzedThrough: Int64?

    public var newest: Int64? { devices.compactMap(\.newest).max() }

    public static func read(path: String, full: Bool) throws -> StoreCheck {
        let database = try StoreConnection.openForReading(path: path)
        return try database.transaction(.readSnapshot) {
            let integrity = try database.rows(full ? "PRAGMA integrity_check" : "PRAGMA quick_check")
                .compactMap { $0.first?.stringValue }
            var devices: [Device] = []
            for row in try database.rows("""
                SELECT d.product, d.name,
                       (SELECT MAX(ts) FROM frames WHERE device_id = d.id)
                FROM devices d ORDER BY d.product, d.name
                """) {
                devices.append(Device(product: row[0].stringValue ?? "", name: row[1].stringValue ?? "",
                                      newest: row[2].int64Value))
            }
            let analyzed = try database.scalar("SELECT value FROM analysis_state WHERE key = 'analyzed_through'")?
                .int64Value
            let directory = Path.parent(path)
            var space = statvfs()
            let free = statvfs(directory.isEmpty ? "." : directory, &space) == 0
                ? Int64(space.f_bavail) * Int64(space.f_frsize) : -1
            return StoreCheck(integrity: integrity, isFullCheck: full, schemaVersion: Schema.currentVersion,
                              databaseBytes: StoreStatistics.fileSize(path),
                              walBytes: StoreStatistics.fileSize(path + "-wal"), freeBytes: free,
                              devices: devices, analyzedThrough: analyzed)
        }
    }
}
