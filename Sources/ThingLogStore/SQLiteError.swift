
/// A failed SQLite call: the result code, the extended code, SQLite's message and the SQL that failed.
///
/// Bound values are never part of the error, so a device's payload never reaches a log line through it.
public struct SQLiteError: Error, CustomStringConvertible, Sendable {
    /// Primary result code (`SQLITE_BUSY`, `SQLITE_CONSTRAINT`, …).
    public let code: Int32
    /// Extended result code (`SQLITE_CONSTRAINT_TRIGGER`, …).
    public let extendedCode: Int32
    public let message: String
    public let sql: String?

    public init(code: Int32, extendedCode: Int32? = nil, message: String, sql: String? = nil) {
        self.code = code & 0xff
        self.extendedCode = extendedCode ?? code
        self.message = message
        self.sql = sql
    }

    public var description: String {
        var text = "SQLite error \(extendedCode): \(message)"
        if let sql { text += " (in: \(sql.prefix(200)))" }
        return text
    }
}

extension SQLiteError {
    /// Primary result codes this code base tells apart (sqlite3.h).
    public enum Code {
        public static let error: Int32 = 1
        public static let busy: Int32 = 5
        public static let locked: Int32 = 6
        public static let tooBig: Int32 = 18
        public static let constraint: Int32 = 19
        public static let mismatch: Int32 = 20
        public static let misuse: Int32 = 21
        public static let range: Int32 = 25
        public static let cantOpen: Int32 = 14
        public static let readOnly: Int32 = 8
        public static let ioError: Int32 = 10
        public static let full: Int32 = 13
        public static let notADatabase: Int32 = 26
    }

    /// Extended result codes.
    public enum ExtendedCode {
        /// A trigger's RAISE(ABORT): how the append-only tables refuse UPDATE and DELETE.
        public static let constraintTrigger: Int32 = 1811
    }

    /// Another connection holds the lock past the busy timeout: worth waiting for, not fatal.
    public var isBusy: Bool { code == Code.busy || code == Code.locked }

    /// The store cannot be written for now (a full disk, a read-only remount, an I/O error, a file that went away):
    /// an outage to wait out, not a reason to stop (issue 15).
    public var isStoreFault: Bool {
        [Code.full, Code.readOnly, Code.ioError, Code.cantOpen].contains(code)
    }
}
