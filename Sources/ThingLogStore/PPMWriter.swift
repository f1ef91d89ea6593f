import ThingLogCore

/// Appends ppm rows to the `ppm` table, many rows per statement (one `sqlite3_step` for 128 rows instead of 128).
public struct PPMWriter {
    static let rowsPerStatement = 128
    private let database: Database
    private let batch: Statement
    private let single: Statement

    init(database: Database) throws {
        self.database = database
        let tuple = "(?, ?, ?, ?, ?)"
        batch = try database.cachedStatement("INSERT INTO ppm(series_id, ts, ppm, rs_r0, quality) VALUES "
            + Array(repeating: tuple, count: Self.rowsPerStatement).joined(separator: ", "))
        single = try database.cachedStatement("INSERT INTO ppm(series_id, ts, ppm, rs_r0, quality) VALUES " + tuple)
    }

    /// Writes one device's rows, one buffer per series, each in time order: inserts that follow each other in the
    /// primary key touch the same few pages.
    public func write(_ buffers: [[PPMRow]]) throws {
        let rows = Array(buffers.joined())
        var start = 0
        while rows.count - start >= Self.rowsPerStatement {
            try insert(rows[start..<start + Self.rowsPerStatement], into: batch)
            start += Self.rowsPerStatement
        }
        for index in start..<rows.count { try insert(rows[index...index], into: single) }
    }

    private func insert(_ rows: ArraySlice<PPMRow>, into statement: Statement) throws {
        statement.rewind()
        var parameter = 1
        for row in rows {
            try statement.bind(row.seriesID, at: parameter)
            try statement.bind(row.time, at: parameter + 1)
            try statement.bind(row.ppm, at: parameter + 2)
            try statement.bind(row.ratio, at: parameter + 3)
            try statement.bind(row.quality.code, at: parameter + 4)
            parameter += 5
        }
        _ = try statement.step()
    }
}
