/// The raw archive's rows (SPEC §5 `reports`) of the open transaction, inserted `rowsPerStatement` at a time: one
/// statement's own work (starting, halting, resetting) was a third of each report's insert when every row had its
/// own. The writer flushes them before anything it does reads `reports`, and at the end of every write.
struct ReportRows {
    /// One report's row.
    struct Row {
        var deviceID: Int64
        var receivedAt: Int64
        var tsOffset: Int64
        /// The packet id or forwarding `seq`, if any.
        var identifier: Int64?
        var flags: Int64
        var shapeID: Int64
        /// The payload's numbers (a shaped report, stored as a BLOB) or the payload itself (stored as TEXT).
        var content: [UInt8]
        var isShaped: Bool
    }

    static let rowsPerStatement = 8

    private let insert: BatchedInsert
    private var pending: [Row] = []

    init(database: Database) throws(SQLiteError) {
        insert = try BatchedInsert(
            database: database,
            prefix: "INSERT INTO reports(device_id, received_at, ts_offset, packet_id, flags, shape_id, content) "
                + "VALUES ",
            parametersPerRow: 7, rowsPerStatement: Self.rowsPerStatement)
        pending.reserveCapacity(Self.rowsPerStatement)
    }

    /// Adds a row, inserting the rows waiting once there are `rowsPerStatement`.
    mutating func add(_ row: Row) throws {
        pending.append(row)
        if pending.count == Self.rowsPerStatement { try flush() }
    }

    /// Inserts the rows waiting, in order. They are dropped whether or not that succeeds: a failure fails the
    /// transaction (or the savepoint) they belong to.
    mutating func flush() throws {
        guard !pending.isEmpty else { return }
        defer { pending.removeAll(keepingCapacity: true) }
        try insert.insert(pending) { statement, row, first in
            try statement.bind(row.deviceID, at: first)
            try statement.bind(row.receivedAt, at: first + 1)
            try statement.bind(row.tsOffset, at: first + 2)
            if let identifier = row.identifier {
                try statement.bind(identifier, at: first + 3)
            } else {
                try statement.bindNull(at: first + 3)
            }
            try statement.bind(row.flags, at: first + 4)
            try statement.bind(row.shapeID, at: first + 5)
            if row.isShaped {
                try statement.bind(.blob(row.content), at: first + 6)
            } else {
                try row.content.withUnsafeBufferPointer { try statement.bindText($0, at: first + 6) }
            }
        }
    }

    /// Drops the rows waiting (their transaction was rolled back).
    mutating func discard() {
        pending.removeAll(keepingCapacity: true)
    }
}
