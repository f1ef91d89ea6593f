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

    /// Writes rows of one width (a row replaces the stored one of its series and bucket), 16 per statement.
    package func write(_ rows: [RollupRow], width: RollupWidth) throws {
        guard !rows.isEmpty else { return }
        let insert = try BatchedInsert(database: database, prefix: """
            INSERT OR REPLACE INTO \(Self.table(width))(series_key, slot, count, mean, m2, m2_shift, min, max,
                                                        first_offset, last_offset) VALUES
            """ + " ", parametersPerRow: 10, rowsPerStatement: 16)
        try insert.insert(rows) { statement, row, first in
            let squares = row.moments.storedSquares
            try statement.bind(row.series.key, at: first)
            try statement.bind(Self.slot(row.bucket, width), at: first + 1)
            try statement.bind(Int64(row.moments.count), at: first + 2)
            try statement.bind(row.moments.mean, at: first + 3)
            try statement.bind(squares.m2, at: first + 4)
            try statement.bind(Int64(squares.shift), at: first + 5)
            try statement.bind(row.moments.minimum, at: first + 6)
            try statement.bind(row.moments.maximum, at: first + 7)
            try statement.bind(row.firstTime - row.bucket, at: first + 8)
            try statement.bind(row.lastTime - row.bucket, at: first + 9)
        }
    }

    /// Writes a device's frame rollups; `gaps[i]` is `rows[i].gapsText`.
    package func write(_ rows: [FrameRollupRow], gaps: [String], device: Int64) throws {
        guard !rows.isEmpty else { return }
        let insert = try database.cachedStatement("""
            INSERT OR REPLACE INTO frame_rollup_1h(device_id, slot, count, first_offset, last_offset, gaps)
            VALUES (?, ?, ?, ?, ?, ?)
            """)
        for (row, gaps) in zip(rows, gaps) {
            try insert.execute([.integer(device), .integer(Self.slot(row.bucket, .hour)), .integer(Int64(row.count)),
                                .integer(row.firstTime - row.bucket), .integer(row.lastTime - row.bucket),
                                .text(gaps)])
        }
    }
}
