import Foundation

/// Opens the thinglog store (SPEC §5): WAL mode, a busy timeout, forward migrations under `user_version`.
public enum StoreConnection {
    /// How much a writer's commits must survive.
    public enum Durability: Sendable {
        /// Survives a crash of the process (WAL with `synchronous=NORMAL`): ingest, which can rerun its input.
        case processCrash
        /// Survives power loss too (`synchronous=FULL`): subscribe, which acknowledges what it committed.
        case powerLoss
    }

    /// The store path from `--db`, else `$THINGLOG_DB`, else `./thinglog.db` (SPEC §3).
    public static func path(explicit: String?, environment: [String: String], currentDirectory: String) -> String {
        if let explicit { return explicit }
        if let fromEnvironment = environment["THINGLOG_DB"], !fromEnvironment.isEmpty { return fromEnvironment }
        return (currentDirectory as NSString).appendingPathComponent("thinglog.db")
    }

    /// Opens (creating when needed) and migrates the store for writing.
    public static func openForWriting(path: String, durability: Durability = .processCrash,
                                      cacheMebibytes: Int = 16) throws(SQLiteError) -> Database {
        let database = try Database(path: path)
        // Larger pages pack the clustered readings tighter; takes effect only while the file is still empty.
        try database.execute("PRAGMA page_size=16384")
        try database.execute("PRAGMA journal_mode=WAL")
        try database.execute(durability == .powerLoss ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL")
        try database.execute("PRAGMA cache_size=-\(cacheMebibytes * 1024)")
        try database.execute("PRAGMA wal_autocheckpoint=2000")
        try database.execute("PRAGMA recursive_triggers=ON")
        try migrate(database)
        return database
    }

    /// Opens the store for reading. A store that does not exist yet is created and migrated first, so that every
    /// command sees the same schema (SPEC §3: created on first use).
    public static func openForReading(path: String, cacheMebibytes: Int = 16) throws(SQLiteError) -> Database {
        do {
            let database = try Database(path: path, mode: .readOnly)
            let version = try database.scalar("PRAGMA user_version")?.int64Value ?? 0
            if version == Int64(Schema.currentVersion) {
                try database.execute("PRAGMA cache_size=-\(cacheMebibytes * 1024)")
                return database
            }
        } catch let error where error.code == 14 /* SQLITE_CANTOPEN */ {
            // Not created yet: fall through and create it.
        }
        _ = try openForWriting(path: path)
        let database = try Database(path: path, mode: .readOnly)
        try database.execute("PRAGMA cache_size=-\(cacheMebibytes * 1024)")
        return database
    }

    /// Runs every migration above the file's `user_version`, each in its own immediate transaction, so that two
    /// processes opening a new store at once migrate it once.
    static func migrate(_ database: Database) throws(SQLiteError) {
        let version = try database.scalar("PRAGMA user_version")?.int64Value ?? 0
        guard version < Int64(Schema.currentVersion) else {
            if version > Int64(Schema.currentVersion) {
                throw SQLiteError(code: 26, message: "store schema version \(version) is newer than this thinglog "
                                  + "(\(Schema.currentVersion)); upgrade thinglog")
            }
            return
        }
        do {
            try database.inTransaction {
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
            throw SQLiteError(code: 1, message: "\(error)")
        }
    }
}
