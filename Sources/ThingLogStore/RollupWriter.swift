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

    /// Rows per INSERT statement.
    static let rowsPerStatement = 16

    /// Writes rows of one width (a row replaces the stored one of its series and bucket).
    package func write(_ rows: [RollupRow], width: RollupWidth) throws {
        guard !rows.isEmpty else { return }
        func statement(_ count: Int) throws -> Statement {
            try database.cachedStatement("""
                INSERT OR REPLACE INTO \(Self.table(width))(series_key, slot, count, mean, m2, m2_shift, min, max,
                                                            first_offset, last_offset)
                VALUES
                """ + Array(repeating: "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", count: count).joined(separator: ", "))
        }
        let batch = try statement(Self.rowsPerStatement), single = try statement(1)
        var start = 0
        while start < rows.count {
            let count = rows.count - start >= Self.rowsPerStatement ? Self.rowsPerStatement : 1
            let insert = count == 1 ? single : batch
            insert.rewind()
            for (index, row) in rows[start..<start + count].enumerated() {
                let squares = row.moments.storedSquares
                let base = 10 * index
                try insert.bind(row.series.key, at: base + 1)
                try insert.bind(Self.slot(row.bucket, width), at: base + 2)
                try insert.bind(Int64(row.moments.count), at: base + 3)
                try insert.bind(row.moments.mean, at: base + 4)
                try insert.bind(squares.m2, at: base + 5)
                try insert.bind(Int64(squares.shift), at: base + 6)
                try insert.bind(row.moments.minimum, at: base + 7)
                try insert.bind(row.moments.maximum, at: base + 8)
                try insert.bind(row.firstTime - row.bucket, at: base + 9)
                try insert.bind(row.lastTime - row.bucket, at: base + 10)
            }
            _ = try insert.step()
            start += count
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
