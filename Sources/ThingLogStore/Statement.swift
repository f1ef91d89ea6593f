import CSQLite

/// A prepared statement that owns its handle and finalizes it in `deinit`.
///
/// Reuse one on hot paths: `reset()`, bind, step. Not Sendable: it belongs to its connection's thread.
public final class Statement {
    let handle: OpaquePointer
    unowned let database: Database
    public let sql: String
    /// The text after the first statement of `sql` (SQLite prepares one statement and ignores the rest).
    public let tail: String

    init(database: Database, sql: String) throws(SQLiteError) {
        var statement: OpaquePointer?
        var tailOffset = 0
        let code = sql.withCString { base in
            var tail: UnsafePointer<CChar>?
            let code = sqlite3_prepare_v3(database.handle, base, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement,
                                          &tail)
            if let tail { tailOffset = tail - base }
            return code
        }
        guard code == SQLITE_OK, let statement else {
            throw code == SQLITE_OK ? SQLiteError(code: SQLITE_MISUSE, message: "no SQL statement", sql: sql)
                                    : database.error(code: code, sql: sql)
        }
        self.handle = statement
        self.database = database
        self.sql = sql
        self.tail = String(decoding: sql.utf8.dropFirst(tailOffset), as: UTF8.self)
    }

    /// Whether `tail` holds another statement (anything but blanks, `;` and comments).
    public var hasFurtherStatements: Bool {
        var bytes = Substring(tail).utf8[...]
        while let byte = bytes.first {
            if byte == UInt8(ascii: ";") || byte == 0x20 || (0x09...0x0D).contains(byte) {
                bytes = bytes.dropFirst()
            } else if bytes.starts(with: "--".utf8) {
                bytes = bytes.drop { $0 != 0x0A }
            } else if bytes.starts(with: "/*".utf8) {
                let rest = bytes.dropFirst(2)
                guard let end = rest.indices.first(where: { rest[$0...].starts(with: "*/".utf8) }) else { return false }
                bytes = rest[end...].dropFirst(2)
            } else {
                return true
            }
        }
        return false
    }

    deinit { sqlite3_finalize(handle) }

    /// Number of `?` / `:name` parameters.
    public var parameterCount: Int { Int(sqlite3_bind_parameter_count(handle)) }

    /// Name of the 1-based parameter (`:key`), or nil for a positional one.
    public func parameterName(at index: Int) -> String? {
        sqlite3_bind_parameter_name(handle, Int32(index)).map { String(cString: $0) }
    }

    /// Whether the statement leaves the database unchanged (as SQLite judges it).
    public var isReadOnly: Bool { sqlite3_stmt_readonly(handle) != 0 }

    public func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    /// Rewinds for another run, keeping the bindings (hot paths rebind every parameter themselves).
    public func rewind() {
        sqlite3_reset(handle)
    }

    /// Turns a bind's result code into an error (SQLITE_RANGE for a bad index, SQLITE_TOOBIG, SQLITE_NOMEM).
    private func check(_ code: Int32) throws(SQLiteError) {
        guard code == SQLITE_OK else { throw database.error(code: code, sql: sql) }
    }

    public func bindNull(at index: Int) throws(SQLiteError) {
        try check(sqlite3_bind_null(handle, Int32(index)))
    }

    /// Binds a value to a 1-based parameter index.
    public func bind(_ value: SQLiteValue, at index: Int) throws(SQLiteError) {
        let position = Int32(index)
        switch value {
        case .null: try check(sqlite3_bind_null(handle, position))
        case .integer(let number): try check(sqlite3_bind_int64(handle, position, number))
        case .real(let number): try check(sqlite3_bind_double(handle, position, number))
        case .text(let string):
            try check(sqlite3_bind_text(handle, position, string, -1, thinglog_sqlite_transient()))
        case .blob(let bytes):
            try check(bytes.withUnsafeBytes {
                sqlite3_bind_blob64(handle, position, $0.baseAddress ?? UnsafeRawPointer(bitPattern: 1),
                                    sqlite3_uint64($0.count), thinglog_sqlite_transient())
            })
        }
    }

    public func bind(_ number: Int64, at index: Int) throws(SQLiteError) {
        try check(sqlite3_bind_int64(handle, Int32(index), number))
    }

    public func bind(_ number: Double, at index: Int) throws(SQLiteError) {
        try check(sqlite3_bind_double(handle, Int32(index), number))
    }

    /// Binds a number, or NULL for nil.
    public func bind(_ number: Double?, at index: Int) throws(SQLiteError) {
        if let number { try bind(number, at: index) } else { try bindNull(at: index) }
    }

    /// Binds bytes that are known to be UTF-8 as text.
    public func bindText(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int) throws(SQLiteError) {
        try check(bytes.withMemoryRebound(to: CChar.self) {
            sqlite3_bind_text64(handle, Int32(index), $0.baseAddress ?? UnsafePointer(bitPattern: 1),
                                sqlite3_uint64($0.count), thinglog_sqlite_transient(), UInt8(SQLITE_UTF8))
        })
    }

    /// Binds every value in order, starting at index 1.
    public func bind(_ values: [SQLiteValue]) throws(SQLiteError) {
        for (offset, value) in values.enumerated() { try bind(value, at: offset + 1) }
    }

    /// Advances the statement: true when a row is available, false when done.
    @discardableResult
    public func step() throws(SQLiteError) -> Bool {
        let code = sqlite3_step(handle)
        switch code {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            let error = database.error(code: code, sql: sql)
            sqlite3_reset(handle)
            throw error
        }
    }

    /// Runs the statement to completion, ignoring rows, and resets it for reuse.
    public func execute(_ values: [SQLiteValue] = []) throws(SQLiteError) {
        reset()
        try bind(values)
        while try step() {}
        sqlite3_reset(handle)
    }

    public var columnCount: Int { Int(sqlite3_column_count(handle)) }

    public func columnName(_ index: Int) -> String {
        sqlite3_column_name(handle, Int32(index)).map { String(cString: $0) } ?? "column\(index + 1)"
    }

    public func isNull(_ index: Int) -> Bool { sqlite3_column_type(handle, Int32(index)) == SQLITE_NULL }
    public func int64(_ index: Int) -> Int64 { sqlite3_column_int64(handle, Int32(index)) }
    public func double(_ index: Int) -> Double { sqlite3_column_double(handle, Int32(index)) }

    public func string(_ index: Int) -> String {
        guard let text = sqlite3_column_text(handle, Int32(index)) else { return "" }
        let count = Int(sqlite3_column_bytes(handle, Int32(index)))
        return String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self)
    }

    /// The column as a typed value.
    public func value(_ index: Int) -> SQLiteValue {
        let column = Int32(index)
        switch sqlite3_column_type(handle, column) {
        case SQLITE_INTEGER: return .integer(sqlite3_column_int64(handle, column))
        case SQLITE_FLOAT: return .real(sqlite3_column_double(handle, column))
        case SQLITE_TEXT: return .text(string(index))
        case SQLITE_BLOB:
            let count = Int(sqlite3_column_bytes(handle, column))
            guard let base = sqlite3_column_blob(handle, column), count > 0 else { return .blob([]) }
            return .blob(Array(UnsafeRawBufferPointer(start: base, count: count)))
        default: return .null
        }
    }

    /// Steps through every row, handing each to `body`.
    public func forEachRow(_ body: (Statement) throws -> Void) throws {
        while try step() { try body(self) }
        sqlite3_reset(handle)
    }
}
