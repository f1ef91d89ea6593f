import CSQLite

/// One SQLite connection: opens with extended result codes and a busy timeout, turns result codes into
/// `SQLiteError`, and runs transactions that roll back on any error. Not Sendable.
public final class Database {
    let handle: OpaquePointer
    public let path: String
    private var cachedStatements: [String: Statement] = [:]

    /// How a connection is opened.
    public enum Mode: Sendable { case readWrite, readOnly }

    /// Process-wide settings, made before the first connection opens.
    private static let configured: Void = { _ = thinglog_sqlite_disable_memory_statistics() }()

    public init(path: String, mode: Mode = .readWrite, busyTimeoutMilliseconds: Int32 = 10_000) throws(SQLiteError) {
        Self.configured
        var connection: OpaquePointer?
        let flags = (mode == .readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
            | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI
        let code = sqlite3_open_v2(path, &connection, flags, nil)
        guard code == SQLITE_OK, let connection else {
            let message = connection.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            sqlite3_close_v2(connection)
            throw SQLiteError(code: code, message: "\(message): \(path)")
        }
        handle = connection
        self.path = path
        sqlite3_extended_result_codes(connection, 1)
        sqlite3_busy_timeout(connection, busyTimeoutMilliseconds)
        StoreFunctions.register(on: connection)
    }

    deinit {
        cachedStatements.removeAll()
        sqlite3_close_v2(handle)
    }

    func error(code: Int32, sql: String?) -> SQLiteError {
        SQLiteError(code: code, extendedCode: sqlite3_extended_errcode(handle),
                    message: String(cString: sqlite3_errmsg(handle)), sql: sql)
    }

    /// Prepares a new statement owned by the caller.
    public func prepare(_ sql: String) throws(SQLiteError) -> Statement {
        try Statement(database: self, sql: sql)
    }

    /// A prepared statement kept for the connection's lifetime, for statements run again and again on hot paths.
    /// Only what is asked for is cached: SQL built per call (IN-lists) is prepared, run and finalized.
    public func cachedStatement(_ sql: String) throws(SQLiteError) -> Statement {
        if let statement = cachedStatements[sql] {
            statement.reset()
            return statement
        }
        let statement = try prepare(sql)
        cachedStatements[sql] = statement
        return statement
    }

    /// Runs one or more statements without parameters.
    public func execute(_ sql: String) throws(SQLiteError) {
        var message: UnsafeMutablePointer<CChar>?
        let code = sqlite3_exec(handle, sql, nil, nil, &message)
        if code != SQLITE_OK {
            let text = message.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(handle))
            sqlite3_free(message)
            throw SQLiteError(code: code, extendedCode: sqlite3_extended_errcode(handle), message: text, sql: sql)
        }
    }

    /// Runs a statement with parameters, ignoring rows.
    public func execute(_ sql: String, _ values: [SQLiteValue]) throws(SQLiteError) {
        try prepare(sql).execute(values)
    }

    /// `scalar` through a statement kept for the connection's lifetime (`cachedStatement`).
    public func cachedScalar(_ sql: String, _ values: [SQLiteValue] = []) throws(SQLiteError) -> SQLiteValue? {
        let statement = try cachedStatement(sql)
        defer { statement.rewind() }
        try statement.bind(values)
        return try statement.step() ? statement.value(0) : nil
    }

    /// The first column of the first row, or nil without rows.
    public func scalar(_ sql: String, _ values: [SQLiteValue] = []) throws(SQLiteError) -> SQLiteValue? {
        let statement = try prepare(sql)
        try statement.bind(values)
        return try statement.step() ? statement.value(0) : nil
    }

    /// Every row as an array of values (for small results).
    public func rows(_ sql: String, _ values: [SQLiteValue] = []) throws(SQLiteError) -> [[SQLiteValue]] {
        let statement = try prepare(sql)
        try statement.bind(values)
        var result: [[SQLiteValue]] = []
        while try statement.step() {
            result.append((0..<statement.columnCount).map { statement.value($0) })
        }
        return result
    }

    /// Rows changed by the last INSERT/UPDATE/DELETE on this connection.
    public var changes: Int { Int(sqlite3_changes(handle)) }

    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    public var isInTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    /// Whether the file this connection has open is no longer the one at `path` (renamed away, deleted or replaced):
    /// SQLite would go on writing to a file nobody will read.
    public var fileHasMoved: Bool {
        var moved: Int32 = 0
        return sqlite3_file_control(handle, "main", SQLITE_FCNTL_HAS_MOVED, &moved) == SQLITE_OK && moved != 0
    }

}

/// What a transaction is for.
public enum TransactionKind: Sendable {
    /// Takes the write lock at once (`BEGIN IMMEDIATE`): a writer waits for the lock up front (busy timeout) instead
    /// of failing half-way through.
    case write
    /// One consistent read snapshot (`BEGIN`; the snapshot is taken at the first read).
    case readSnapshot
}

/// The one transaction API: every BEGIN, COMMIT, ROLLBACK and SAVEPOINT of thinglog goes through here.
extension Database {
    public func begin(_ kind: TransactionKind) throws(SQLiteError) {
        try cachedStatement(kind == .write ? "BEGIN IMMEDIATE" : "BEGIN").execute()
    }

    public func commit() throws(SQLiteError) {
        try cachedStatement("COMMIT").execute()
    }

    /// Abandons the open transaction, if any.
    public func rollback() {
        if isInTransaction { try? execute("ROLLBACK") }
    }

    /// Runs `body` in a transaction: commits when it returns, rolls back and rethrows when it throws.
    public func transaction<T>(_ kind: TransactionKind = .write, _ body: () throws -> T) throws -> T {
        try begin(kind)
        do {
            let result = try body()
            try commit()
            return result
        } catch {
            rollback()
            throw error
        }
    }

    /// Opens a savepoint inside the open transaction.
    public func beginSavepoint() throws(SQLiteError) {
        try cachedStatement("SAVEPOINT thinglog_entry").execute()
    }

    /// Keeps what was written since `beginSavepoint()`.
    public func releaseSavepoint() throws(SQLiteError) {
        try cachedStatement("RELEASE thinglog_entry").execute()
    }

    /// Undoes what was written since `beginSavepoint()` and closes the savepoint; the transaction stays open.
    public func rollbackToSavepoint() throws(SQLiteError) {
        try cachedStatement("ROLLBACK TO thinglog_entry").execute()
        try releaseSavepoint()
    }
}

/// A write transaction that commits in pieces, so that a long job (analyzing a device's months of history) never
/// holds the write lock for long: `commitPiece()` commits what was written so far and continues in a new one.
public final class PiecewiseTransaction {
    private let database: Database

    /// Begins the first piece.
    public init(database: Database) throws(SQLiteError) {
        self.database = database
        try database.begin(.write)
    }

    public func commitPiece() throws(SQLiteError) {
        try database.commit()
        try database.begin(.write)
    }

    /// Commits the last piece.
    public func finish() throws(SQLiteError) {
        try database.commit()
    }

    /// Rolls the open piece back (the pieces committed before stay).
    public func abandon() {
        database.rollback()
    }
}
