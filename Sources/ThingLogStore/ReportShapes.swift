import ThingLogCore
import Glibc

/// The writer's table of report shapes (`report_shapes`): per device, topic and method, each payload shape stored
/// once, and one row with a NULL shape for the reports kept raw. Cached in memory up to `cacheBytes` of shapes.
///
/// A device gets at most `maximumPerDevice` shapes: one whose payloads never repeat a shape (digits glued to changing
/// words, 19-digit numbers) would otherwise store every payload twice; beyond the bound its payloads stay raw.
final class ReportShapes {
    struct Key: Hashable {
        var deviceID: Int64
        var topicID: Int64
        var methodID: Int64?
        /// nil: the row for raw payloads.
        var shape: [UInt8]?

        static func == (left: Key, right: Key) -> Bool {
            guard left.deviceID == right.deviceID, left.topicID == right.topicID, left.methodID == right.methodID
            else { return false }
            guard let leftShape = left.shape, let rightShape = right.shape else { return left.shape == right.shape }
            return leftShape.count == rightShape.count && leftShape.withUnsafeBytes { leftBytes in
                rightShape.withUnsafeBytes { rightBytes in
                    guard let leftBase = leftBytes.baseAddress, let rightBase = rightBytes.baseAddress else {
                        return true
                    }
                    return memcmp(leftBase, rightBase, leftBytes.count) == 0
                }
            }
        }
    }

    static let maximumPerDevice = 64
    /// The largest shape the writer keeps as a device's last one (`StoreWriter.DeviceState.lastShape`).
    static let largestKeptPerDevice = 4096
    static let cacheBytes = 8 << 20

    /// Where a report goes: a shape row, and whether the payload is stored as numbers under it (false: the row for
    /// raw payloads, also where a shape past the device's bound is sent).
    typealias Placement = (id: Int64, isShaped: Bool)

    private let database: Database
    private var placements: [Key: Placement] = [:]
    private var cachedBytes = 0
    private let find: Statement
    private let insert: Statement
    private let countOfDevice: Statement

    init(database: Database) throws(SQLiteError) {
        self.database = database
        find = try database.prepare("""
            SELECT id FROM report_shapes WHERE device_id = ? AND shape_hash = ? AND topic_id = ? AND method_id IS ?
            AND shape IS ?
            """)
        insert = try database.prepare("""
            INSERT INTO report_shapes(device_id, topic_id, method_id, shape_hash, shape) VALUES (?, ?, ?, ?, ?)
            """)
        countOfDevice = try database.prepare("SELECT COUNT(*) FROM report_shapes WHERE device_id = ?")
    }

    /// The row id to store a report under, and whether its payload goes in as numbers (else raw). (The writer keeps
    /// each device's last key and placement: devices repeat one shape, so it asks here only when that changes.)
    func id(for key: Key) throws(SQLiteError) -> Placement {
        if let cached = placements[key] { return cached }
        let placement = try storedPlacement(for: key)
        remember(key, placement)
        return placement
    }

    /// The placement from the store, inserting the shape when new and the device has room for it.
    private func storedPlacement(for key: Key) throws(SQLiteError) -> Placement {
        if let id = try lookUp(key) { return (id, key.shape != nil) }
        if key.shape != nil, try count(of: key.deviceID) >= Self.maximumPerDevice {
            var raw = key
            raw.shape = nil
            return (try id(for: raw).id, false)
        }
        insert.rewind()
        try insert.bind(key.deviceID, at: 1)
        try insert.bind(key.topicID, at: 2)
        try insert.bind(key.methodID.map(SQLiteValue.integer) ?? .null, at: 3)
        try insert.bind(key.shape.map(Self.hash) ?? 0, at: 4)
        try insert.bind(key.shape.map(SQLiteValue.blob) ?? .null, at: 5)
        try insert.step()
        return (database.lastInsertRowID, key.shape != nil)
    }

    /// Drops the cache (after a rollback its ids may name rows that are gone).
    func forget() {
        placements.removeAll()
        cachedBytes = 0
    }

    /// FNV-1a, 64 bits, as a signed integer for SQLite.
    static func hash(_ bytes: [UInt8]) -> Int64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return Int64(bitPattern: hash)
    }

    private func lookUp(_ key: Key) throws(SQLiteError) -> Int64? {
        find.rewind()
        defer { find.rewind() }
        try find.bind(key.deviceID, at: 1)
        try find.bind(key.shape.map(Self.hash) ?? 0, at: 2)
        try find.bind(key.topicID, at: 3)
        try find.bind(key.methodID.map(SQLiteValue.integer) ?? .null, at: 4)
        try find.bind(key.shape.map(SQLiteValue.blob) ?? .null, at: 5)
        return try find.step() ? find.int64(0) : nil
    }

    private func count(of deviceID: Int64) throws(SQLiteError) -> Int {
        countOfDevice.rewind()
        defer { countOfDevice.rewind() }
        try countOfDevice.bind(deviceID, at: 1)
        return try countOfDevice.step() ? Int(countOfDevice.int64(0)) : 0
    }

    /// Caches a placement, emptying the caches first when its shape would take them past `cacheBytes` (the last-key
    /// entries hold shapes the placements hold too, so the placements' bytes bound both).
    private func remember(_ key: Key, _ placement: Placement) {
        let size = (key.shape?.count ?? 0) + 64
        if cachedBytes + size > Self.cacheBytes { forget() }
        placements[key] = placement
        cachedBytes += size
    }
}
