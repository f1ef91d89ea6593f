/// Frame layouts (`layouts`, `layout_series`): which series each value column of a frame belongs to. A device repeats
/// a few layouts (one per report format), so each is stored once per device and frames name it by id. The writers
/// (of readings, of ppm estimates) create them. Cached in memory up to `maximumCached` layouts.
final class FrameLayouts {
    /// Value columns per frame (`v0`…`v7`); a report with more readings takes several frames.
    static let width = 8
    static let maximumCached = 100_000

    struct Key: Hashable {
        var deviceID: Int64
        var series: [Int64]
    }

    private let database: Database
    private var ids: [Key: Int64] = [:]
    private var last: (deviceID: Int64, series: [Int64], id: Int64)?
    private let find: Statement
    private let insert: Statement
    private let insertColumn: Statement

    init(database: Database) throws(SQLiteError) {
        self.database = database
        find = try database.prepare("SELECT id FROM layouts WHERE device_id = ? AND series = ?")
        insert = try database.prepare("INSERT INTO layouts(device_id, series) VALUES (?, ?)")
        insertColumn = try database.prepare(
            "INSERT INTO layout_series(layout_id, position, series_id) VALUES (?, ?, ?)")
    }

    /// The id of the layout whose columns hold `series` in this order (1 to `width` of them), created when new.
    /// The last one asked for is kept (analysis writes a device's estimates one frame after another); the live
    /// writer keeps each device's last layout itself (its reports interleave devices).
    func id(deviceID: Int64, series: [Int64]) throws(SQLiteError) -> Int64 {
        if let last, last.deviceID == deviceID, last.series == series { return last.id }
        let id = try storedID(deviceID: deviceID, series: series)
        last = (deviceID, series, id)
        return id
    }

    private func storedID(deviceID: Int64, series: [Int64]) throws(SQLiteError) -> Int64 {
        let key = Key(deviceID: deviceID, series: series)
        if let id = ids[key] { return id }
        let text = series.map(String.init).joined(separator: ",")
        find.rewind()
        defer { find.rewind() }
        try find.bind(deviceID, at: 1)
        try find.bind(.text(text), at: 2)
        let id: Int64
        if try find.step() {
            id = find.int64(0)
        } else {
            insert.rewind()
            try insert.bind(deviceID, at: 1)
            try insert.bind(.text(text), at: 2)
            try insert.step()
            id = database.lastInsertRowID
            for (position, seriesID) in series.enumerated() {
                insertColumn.rewind()
                try insertColumn.bind(id, at: 1)
                try insertColumn.bind(Int64(position), at: 2)
                try insertColumn.bind(seriesID, at: 3)
                try insertColumn.step()
            }
        }
        if ids.count >= Self.maximumCached { ids.removeAll() }
        ids[key] = id
        return id
    }

    /// Drops the caches (after a rollback their ids may name rows that are gone).
    func forget() {
        ids.removeAll()
        last = nil
    }
}
