import ThingLogCore

/// Writes and clears one device's rollups (SPEC §6 "Rollups") inside analyze's write transaction. Rows replace
/// those of the same series and bucket, so a bucket written partially (at a piece commit) is completed later.
public struct RollupWriter {
    private let database: Database

    init(database: Database) {
        self.database = database
    }

    /// The stored bucket number of a bucket start (or of any time: the bucket holding it).
    static func slot(_ time: Int64, _ width: RollupWidth) -> Int64 { floorDivide(time, width.rawValue) }

    static func table(_ width: RollupWidth) -> String {
        switch width {
        case .fiveMinutes: "rollup_5m"
        case .hour: "rollup_1h"
        }
    }

    /// Removes the rollups of `series` and the device's frame rollups with buckets at or after `from`, and
    /// 5-minute rows of buckets before `keepFiveMinutesFrom` (their retention has passed).
    package func clear(device: Int64, series: [RollupSeries], from: Int64, keepFiveMinutesFrom: Int64) throws {
        for width in RollupWidth.allCases {
            let statement = try database.cachedStatement(
                "DELETE FROM \(Self.table(width)) WHERE series_key = ? AND slot >= ?")
            let slot = Self.slot(from, width)
            for entry in series { try statement.execute([.integer(entry.key), .integer(slot)]) }
        }
        let expired = try database.cachedStatement("DELETE FROM rollup_5m WHERE series_key = ? AND slot < ?")
        let kept = Self.slot(keepFiveMinutesFrom, .fiveMinutes)
        for entry in series { try expired.execute([.integer(entry.key), .integer(kept)]) }
        try database.cachedStatement("DELETE FROM frame_rollup_1h WHERE device_id = ? AND slot >= ?")
            .execute([.integer(device), .integer(Self.slot(from, .hour))])
    }

    /// Writes rows of one width.
    package func write(_ rows: [RollupRow], width: RollupWidth) throws {
        guard !rows.isEmpty else { return }
        let insert = try database.cachedStatement("""
            INSERT OR REPLACE INTO \(Self.table(width))(series_key, slot, count, mean, m2, m2_shift, min, max,
                                                        first_offset, last_offset)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        for row in rows {
            insert.rewind()
            let squares = row.moments.storedSquares
            try insert.bind(row.series.key, at: 1)
            try insert.bind(Self.slot(row.bucket, width), at: 2)
            try insert.bind(Int64(row.moments.count), at: 3)
            try insert.bind(row.moments.mean, at: 4)
            try insert.bind(squares.m2, at: 5)
            try insert.bind(Int64(squares.shift), at: 6)
            try insert.bind(row.moments.minimum, at: 7)
            try insert.bind(row.moments.maximum, at: 8)
            try insert.bind(row.firstTime - row.bucket, at: 9)
            try insert.bind(row.lastTime - row.bucket, at: 10)
            _ = try insert.step()
        }
    }

    /// Writes a device's frame rollups.
    package func write(_ rows: [FrameRollupRow], device: Int64) throws {
        guard !rows.isEmpty else { return }
        let insert = try database.cachedStatement("""
            INSERT OR REPLACE INTO frame_rollup_1h(device_id, slot, count, first_offset, last_offset, gaps)
            VALUES (?, ?, ?, ?, ?, ?)
            """)
        for row in rows {
            try insert.execute([.integer(device), .integer(Self.slot(row.bucket, .hour)), .integer(Int64(row.count)),
                                .integer(row.firstTime - row.bucket), .integer(row.lastTime - row.bucket),
                                .text(row.gapsText)])
        }
    }
}
