import CSQLite
import ThingLogCore

/// Copies a writer's write-ahead log into the store file on a thread of its own (a passive checkpoint on a connection
/// of its own), once the log holds `thresholdFrames` pages after a commit. SQLite's automatic checkpoint runs inside
/// the commit that crosses its threshold, so a subscriber's acknowledgements waited for the copy's writes and syncs;
/// and copying as the log grows leaves little to copy when the writer closes (closing copies what is left and
/// removes the log, so a stopped store is one file).
///
/// A copy never waits: one still under way when the next commit crosses the threshold covers it, and a reader holding
/// old pages only shortens it (the next copy goes on). A copy that fails (a full disk) loses nothing: the commits stay
/// in the log, readers see them there, and the next copy tries again. Call `close()` before closing the writer.
///
/// The log starts over only when the writer begins a transaction after a copy has finished; a writer that is always
/// already in its next one (a sustained stream) would make it grow without end. Past `maximumFrames` the writer
/// therefore finishes the copy itself between two transactions (`startOverIfLong`).
final class LogCopier: @unchecked Sendable {
    /// How many times the copy threshold the log may hold before the writer copies it itself.
    static let longLogFactor: Int32 = 4
    private var connection: Database?
    private let copies = SerialWorker()
    private let thresholdFrames: Int32
    private let maximumFrames: Int32
    private let logIsLong = Locked(false)
    /// The log's page count when the last copy was handed over (used on the writer's thread only).
    private var copiedThrough: Int32 = 0
    /// Copy after every commit, whatever the threshold: the writer is about to close, and what is copied now, while
    /// it writes its last batches, is not left for the close (used on the writer's thread only).
    var copiesEveryCommit = false
    private weak var writer: Database?

    /// Installs itself on `writer` (replacing SQLite's automatic checkpoint).
    init(writer: Database, thresholdFrames: Int32, maximumFrames: Int32) throws(SQLiteError) {
        connection = try Database(path: writer.path, busyTimeoutMilliseconds: 0)
        self.thresholdFrames = thresholdFrames
        self.maximumFrames = maximumFrames
        self.writer = writer
        let context = Unmanaged.passUnretained(self).toOpaque()
        sqlite3_wal_hook(writer.handle, { context, _, _, frames in
            guard let context else { return SQLITE_OK }
            Unmanaged<LogCopier>.fromOpaque(context).takeUnretainedValue().committed(logFrames: frames)
            return SQLITE_OK
        }, context)
    }

    deinit { close() }

    /// After each of the writer's commits, on its thread, with the number of pages in the log.
    private func committed(logFrames: Int32) {
        if logFrames < copiedThrough { copiedThrough = 0 }   // the log started over
        if logFrames >= maximumFrames { logIsLong.value = true }
        // A copy per `thresholdFrames` new pages, not per commit: each one syncs the store file, and a writer that
        // commits a thousand times a second would otherwise have its syncs compete with one after every commit.
        guard copiesEveryCommit || logFrames - copiedThrough >= thresholdFrames else { return }
        let submitted = copies.submitIfIdle { [weak self] in
            _ = try? self?.connection?.execute("PRAGMA wal_checkpoint(PASSIVE)")
        }
        if submitted { copiedThrough = logFrames }
    }

    /// On the writer's thread, outside a transaction: when the log is long, waits for the copy under way and copies
    /// the rest on the writer's connection, so that its next transaction starts the log over (unless a reader still
    /// holds old pages; then it stays long and the next call tries again).
    func startOverIfLong() {
        guard logIsLong.value, let writer else { return }
        try? copies.drain()
        _ = try? writer.execute("PRAGMA wal_checkpoint(PASSIVE)")
        logIsLong.value = false
    }

    /// Waits for a copy under way.
    func waitForCopies() { try? copies.drain() }

    /// Waits for a copy under way, closes the copier's connection and gives the writer SQLite's automatic checkpoint
    /// back (a connection that outlives its copier still keeps its log short).
    func close() {
        if let writer {
            sqlite3_wal_hook(writer.handle, nil, nil)
            sqlite3_wal_autocheckpoint(writer.handle, thresholdFrames)
            self.writer = nil
        }
        try? copies.drain()
        copies.stop()
        connection = nil
    }
}
