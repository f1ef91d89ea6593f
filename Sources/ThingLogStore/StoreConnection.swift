import CSQLite
import ThingLogCore
import FoundationEssentials
import Dispatch
import Glibc

/// Opens the thinglog store (SPEC §5): WAL mode, a busy timeout, forward migrations under `user_version`.
public enum StoreConnection {
    /// How much a writer's commits must survive.
    public enum Durability: Sendable {
        /// Survives a crash of the process (WAL with `synchronous=NORMAL`): ingest, which can rerun its input.
        case processCrash
        /// Survives power loss too (`synchronous=FULL`): subscribe, which acknowledges what it committed.
        case powerLoss
    }

    /// The SQLite library thinglog runs on (`thinglog version`).
    public static var sqliteVersion: String { String(cString: sqlite3_libversion()) }

    /// The store path from `--db`, else `$THINGLOG_DB`, else `./thinglog.db` (SPEC §3).
    public static func path(explicit: String?, environment: [String: String], currentDirectory: String) -> String {
        if let explicit { return explicit }
        if let fromEnvironment = environment["THINGLOG_DB"], !fromEnvironment.isEmpty { return fromEnvironment }
        return Path.join(currentDirectory, "thinglog.db")
    }

    /// Opens (creating when needed) and migrates the store for writing.
    public static func openForWriting(path: String, durability: Durability = .processCrash,
                                      cacheMebibytes: Int = 16) throws(SQLiteError) -> Database {
        let database = try Database(path: path)
        // Small pages: a live commit writes one page per device it touches to the WAL (16 KiB pages made `receive`
        // write 4 times the bytes for the same reports); takes effect only while the file is still empty.
        try database.execute("PRAGMA page_size=4096")
        try database.execute("PRAGMA journal_mode=WAL")
        try database.execute(durability == .powerLoss ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL")
        try database.execute("PRAGMA cache_size=-\(cacheMebibytes * 1024)")
        try database.execute("PRAGMA wal_autocheckpoint=2000")
        try database.execute("PRAGMA recursive_triggers=ON")
        try migrate(database)
        return database
    }

    /// Copies the write-ahead log into the store file and empties it: after a bulk ingest, the store's size on disk is
    /// its file alone (a connection of its own; the writer's is idle by then). A reader holding the log open makes
    /// this a no-op rather than a wait: the next checkpoint gets it.
    public static func checkpoint(path: String) throws(SQLiteError) {
        let database = try Database(path: path, busyTimeoutMilliseconds: 0)
        _ = try? database.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    }

    /// Opens an existing store for reading. Never creates or migrates one (SPEC §5): a mistyped path is an error,
    /// and so is a store at another schema version, with the command that migrates it.
    public static func openForReading(path: String, cacheMebibytes: Int = 16) throws(SQLiteError) -> Database {
        guard FileManager.default.fileExists(atPath: path) else {
            throw SQLiteError(code: SQLiteError.Code.cantOpen,
                              message: "no store at \(path) (check --db or THINGLOG_DB; ingest, subscribe or demo "
                                  + "create one)")
        }
        let database = try Database(path: path, mode: .readOnly)
        let version = try database.scalar("PRAGMA user_version")?.int64Value ?? 0
        guard version == Int64(Schema.currentVersion) else {
            if version == 0 {
                throw SQLiteError(code: SQLiteError.Code.notADatabase,
                                  message: "\(path) is not a thinglog store (schema version 0)")
            }
            throw SQLiteError(code: SQLiteError.Code.notADatabase, message: version < Int64(Schema.currentVersion)
                ? "store \(path) has schema version \(version), this thinglog reads \(Schema.currentVersion): run "
                  + "`thinglog analyze` (or ingest or subscribe) once to migrate it"
                : "store schema version \(version) is newer than this thinglog (\(Schema.currentVersion)); "
                  + "upgrade thinglog")
        }
        try database.execute("PRAGMA cache_size=-\(cacheMebibytes * 1024)")
        return database
    }

    /// Opens an existing store for ad-hoc SQL: read-only, and `query_only` on top, so no statement can change it.
    public static func openForQueries(path: String) throws(SQLiteError) -> Database {
        let database = try openForReading(path: path)
        try database.execute("PRAGMA query_only=ON")
        return database
    }

    /// Runs every migration above the file's `user_version`, each in its own immediate transaction, so that two
    /// processes opening a new store at once migrate it once.
    static func migrate(_ database: Database) throws(SQLiteError) {
        let version = try database.scalar("PRAGMA user_version")?.int64Value ?? 0
        guard version < Int64(Schema.currentVersion) else {
            if version > Int64(Schema.currentVersion) {
                throw SQLiteError(code: SQLiteError.Code.notADatabase,
                                  message: "store schema version \(version) is newer than this thinglog "
                                      + "(\(Schema.currentVersion)); upgrade thinglog")
            }
            return
        }
        do {
            try database.transaction {
                // Re-read inside the write lock: another process may have migrated meanwhile.
                let locked = Int(try database.scalar("PRAGMA user_version")?.int64Value ?? 0)
                for next in locked..<Schema.currentVersion {
                    try database.execute(Schema.migrations[next])
                    try database.execute("PRAGMA user_version=\(next + 1)")
                }
            }
        } catch let error as SQLiteError {
            throw error
        } catch {
            throw SQLiteError(code: SQLiteError.Code.error, message: "\(error)")
        }
    }
}
