/// An INSERT of many rows: `rowsPerStatement` rows at a time with one statement of that many tuples, the rest one
/// by one (one `sqlite3_step` for a batch instead of one per row). Both statements are the connection's cached ones.
struct BatchedInsert {
    let rowsPerStatement: Int
    let parametersPerRow: Int
    private let batch: Statement
    private let single: Statement

    /// `prefix`: the statement up to `VALUES `; each row has `parametersPerRow` parameters.
    init(database: Database, prefix: String, parametersPerRow: Int, rowsPerStatement: Int) throws(SQLiteError) {
        self.rowsPerStatement = rowsPerStatement
        self.parametersPerRow = parametersPerRow
        let tuple = "(" + Array(repeating: "?", count: parametersPerRow).joined(separator: ", ") + ")"
        batch = try database.cachedStatement(
            prefix + Array(repeating: tuple, count: rowsPerStatement).joined(separator: ", "))
        single = try database.cachedStatement(prefix + tuple)
    }

    /// Inserts `rows` in order; `bind(statement, row, first)` binds one row's parameters from index `first` on.
    func insert<Rows: Collection>(_ rows: Rows, bind: (Statement, Rows.Element, Int) throws -> Void) throws {
        var start = rows.startIndex
        while start != rows.endIndex {
            let count = rows.distance(from: start, to: rows.endIndex) >= rowsPerStatement ? rowsPerStatement : 1
            let statement = count == 1 ? single : batch
            let end = rows.index(start, offsetBy: count)
            statement.rewind()
            for (offset, row) in rows[start..<end].enumerated() {
                try bind(statement, row, offset * parametersPerRow + 1)
            }
            _ = try statement.step()
            start = end
        }
    }
}
