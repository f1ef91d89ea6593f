import CSQLite
import FoundationEssentials
import Dispatch
import Glibc
import ThingLogCore

/// `thinglog backup` (issue 15): a consistent copy of the store while writers run. SQLite's online backup API copies
/// the pages of one read snapshot (held open for the whole copy, so a concurrent commit never restarts it; in WAL
/// mode a reader never blocks the writer), in steps; the copy is made a self-contained single file, checked
/// (`integrity_check`, the same row counts as the snapshot), synced, and only then renamed into place, so a backup
/// file is either complete and verified or absent.
public enum StoreBackup {
    /// What one backup wrote.
    public struct Result: Sendable {
        public var path: String
        public var bytes: Int64
        public var reports: Int64
        public var readings: Int64
        public var seconds: Double
        /// Older backups removed by `--keep`.
        public var removed: [String]
    }

    /// Copies the store at `source` to `destination` (a file path, or an existing directory where the copy is named
    /// `thinglog-YYYYMMDDTHHMMSSZ.db`); with `keep`, only the newest `keep` such copies stay in that directory.
    public static func run(source: String, destination: String, keep: Int?, now: Int64,
                           pagesPerStep: Int32 = 4096) throws -> Result {
        let started = DispatchTime.now().uptimeNanoseconds
        let intoDirectory = Path.isDirectory(destination)
        if keep != nil && !intoDirectory {
            throw RuntimeError("backup: --keep needs DEST to be a directory (the copies are rotated there)")
        }
        let target = intoDirectory ? Path.join(destination, fileName(at: now)) : destination
        let staging = Path.parent(target) + "/."
            + Path.lastComponent(target) + ".tmp-\(getpid())"
        try? FileManager.default.removeItem(atPath: staging)
        do {
            let counts = try copy(from: source, to: staging, pagesPerStep: pagesPerStep)
            try verify(staging, expected: counts)
            try DurableFile.syncFile(staging)
            guard rename(staging, target) == 0 else {
                throw RuntimeError("backup: cannot rename into \(target): \(String(cString: strerror(errno)))")
            }
            DurableFile.syncDirectory(containing: target)
            var result = Result(path: target, bytes: StoreStatistics.fileSize(target), reports: counts.reports,
                                readings: counts.readings,
                                seconds: Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9, removed: [])
            if let keep, intoDirectory { result.removed = try rotate(destination, keep: keep) }
            return result
        } catch {
            try? FileManager.default.removeItem(atPath: staging)
            throw error
        }
    }

    static func fileName(at time: Int64) -> String {
        let iso = Timestamp.iso8601(time)   // 2026-11-30T02:00:00.000Z
        let compact = iso.prefix(19).filter { $0 != "-" && $0 != ":" }
        return "thinglog-\(compact)Z.db"
    }

    private struct Counts {
        var reports: Int64
        var readings: Int64
    }

    /// The pages of one read snapshot of `source`, into a new file at `path`; the snapshot's row counts.
    private static func copy(from source: String, to path: String, pagesPerStep: Int32) throws -> Counts {
        let reader = try StoreConnection.openForReading(path: source)
        try reader.begin(.readSnapshot)
        defer { reader.rollback() }
        let counts = Counts(reports: try reader.scalar("SELECT COUNT(*) FROM reports")?.int64Value ?? 0,
                            readings: try reader.scalar(Schema.readingCount)?.int64Value ?? 0)
        let copy = try Database(path: path)
        guard let backup = sqlite3_backup_init(copy.handle, "main", reader.handle, "main") else {
            throw copy.error(code: sqlite3_errcode(copy.handle), sql: "backup")
        }
        var code: Int32
        repeat {
            code = sqlite3_backup_step(backup, pagesPerStep)
            if code == SQLITE_BUSY || code == SQLITE_LOCKED { sqlite3_sleep(10) }
        } while code == SQLITE_OK || code == SQLITE_BUSY || code == SQLITE_LOCKED
        let finished = sqlite3_backup_finish(backup)
        guard code == SQLITE_DONE, finished == SQLITE_OK else {
            throw copy.error(code: code == SQLITE_DONE ? finished : code, sql: "backup")
        }
        // A self-contained file: no write-ahead log beside it.
        try copy.execute("PRAGMA journal_mode=DELETE")
        return counts
    }

    /// The copy passes `integrity_check` and holds the snapshot's rows.
    private static func verify(_ path: String, expected: Counts) throws {
        let copy = try Database(path: path, mode: .readOnly)
        let integrity = try copy.rows("PRAGMA integrity_check").compactMap { $0.first?.stringValue }
        guard integrity == ["ok"] else {
            throw RuntimeError("backup: the copy fails integrity_check: \(integrity.prefix(3).joined(separator: "; "))")
        }
        let reports = try copy.scalar("SELECT COUNT(*) FROM reports")?.int64Value ?? -1
        let readings = try copy.scalar(Schema.readingCount)?.int64Value ?? -1
        guard reports == expected.reports, readings == expected.readings else {
            throw RuntimeError("backup: the copy holds \(reports) reports and \(readings) readings, the snapshot "
                               + "\(expected.reports) and \(expected.readings)")
        }
    }

    /// Removes all but the newest `keep` backups (`thinglog-*.db`) in `directory`; returns the removed paths.
    private static func rotate(_ directory: String, keep: Int) throws -> [String] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory)
            .filter { $0.hasPrefix("thinglog-") && $0.hasSuffix("Z.db") }.sorted()
        let removed = names.dropLast(keep).map { Path.join(directory, $0) }
        for path in removed { try FileManager.default.removeItem(atPath: path) }
        return removed
    }
}
