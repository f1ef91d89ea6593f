import FoundationEssentials
import Dispatch
import Glibc
import ThingLogCore

/// The one writer thread: it owns a `StoreWriter` (handed over with `sending`) and writes batches on a thread of
/// its own, so the next batch is received and parsed while this one is written and fsynced (group commit,
/// pipelined). Used by `ingest`, `subscribe` and `receive`.
///
/// A batch that `commits` is begun (or continues the open transaction), written and committed whole; only then is
/// its `Token` handed back (the packet ids to PUBACK, the HTTP requests to answer) and `wakeDescriptor` becomes
/// readable, so a `poll` loop notices at once. A batch that does not commit is written into the open transaction
/// (a long `ingest` commits every 50 000 entries, not every chunk); its token is never handed back. At most
/// `capacity` batches wait while another is written: a full pipeline makes `submit` wait (backpressure).
public final class GroupCommitter<Token: Sendable>: @unchecked Sendable {
    /// Messages to store, and what to release once they are committed.
    public struct Batch: @unchecked Sendable {
        public var entries: [StoreEntry]
        public var token: Token
        /// Commit after writing (else the transaction stays open for the next batch).
        public var commits: Bool
        /// What its entries hold (`StoreEntry.byteCount`), summed by `submit` on the submitting thread.
        fileprivate var byteCount = 0

        public init(entries: [StoreEntry], token: Token, commits: Bool = true) {
            self.entries = entries
            self.token = token
            self.commits = commits
        }
    }

    /// A committed batch; `summary` covers every batch written since the previous commit.
    public struct Done {
        public var token: Token
        public var summary: AppendSummary
        /// Monotonic milliseconds at the commit, and how long writing and committing took (seconds).
        public var committedAt: Int64
        public var seconds: Double
    }

    /// Replaced only on the writer thread (`reopen`), after the store file was replaced under it; nil between closing
    /// the old connection and opening the new one.
    private var currentWriter: StoreWriter?
    private let path: String

    /// The writer, or a store fault while it is being reopened.
    private var writer: StoreWriter {
        get throws(SQLiteError) {
            guard let currentWriter else {
                throw SQLiteError(code: SQLiteError.Code.cantOpen, message: "the store \(path) is being reopened")
            }
            return currentWriter
        }
    }
    private let reopen: (@Sendable () throws -> StoreWriter)?
    private let queue: BoundedQueue<Batch>
    private let lock = Lock()
    private var finished: [Done] = []
    /// Written batches' entries, released by the submitting thread (`takeFinished`, `releaseSpent`, `finish`):
    /// freeing on the thread that allocated them spares the allocator's cross-thread locking (10 % of an ingest's
    /// CPU went to that futex).
    private var spent: [[StoreEntry]] = []
    private var spentBytes = 0
    /// Most payload bytes held for the submitter; beyond, the writer releases them itself (a submitter that seldom
    /// collects never makes this grow).
    static var maximumSpentBytes: Int { 16 << 20 }
    private var failure: (any Error)?
    private let stopped = DispatchSemaphore(value: 0)
    private var pipe: [Int32] = [-1, -1]
    private var submitted = 0
    private var written = 0
    private var isStopped = false
    private var isStopping = false
    private let capacity: Int
    private var currentOutage: Outage?
    private var endedOutages: [Outage] = []

    /// A store fault being waited out (`SQLiteError.isStoreFault`): since when and why.
    public struct Outage: Sendable, Equatable {
        /// Monotonic milliseconds.
        public var since: Int64
        public var reason: String
        /// When it ended (monotonic ms); nil while it lasts.
        public var endedAt: Int64?
    }

    /// The outage being waited out now, if any.
    public var outage: Outage? { lock.withLock { currentOutage } }

    /// Outages that ended since the last call, oldest first (for the one log line each gets when it ends).
    public func takeEndedOutages() -> [Outage] {
        lock.withLock {
            defer { endedOutages.removeAll() }
            return endedOutages
        }
    }

    /// Whether `submit` would return at once (no batch is waiting for the writer): a network loop that must keep
    /// its connection alive submits only then, holding what arrives meanwhile.
    public var hasRoom: Bool { queue.count < capacity }

    /// Whether the writer has written every batch handed over: nothing waits and nothing is being written. A loop that
    /// answers only after commits submits then, so that what arrives during one commit goes into the next whole
    /// (a queued batch would split its clients between the batch being written and the one waiting).
    public var isIdle: Bool { lock.withLock { written == submitted } }

    /// Readable while finished batches wait to be taken.
    public var wakeDescriptor: Int32 { pipe[0] }

    /// `reopen` makes a writer on the store's path again: when the store file was replaced under the running writer
    /// (restored from a backup), the outage ends by writing to the new file; without it the outage lasts until the
    /// old file is back.
    public init(writer: sending StoreWriter, capacity: Int = 1,
                reopen: (@Sendable () throws -> StoreWriter)? = nil) throws {
        path = writer.database.path
        currentWriter = writer
        self.reopen = reopen
        queue = BoundedQueue(capacity: capacity)
        self.capacity = capacity
        guard Glibc.pipe(&pipe) == 0 else {
            throw RuntimeError("cannot create a pipe: \(String(cString: strerror(errno)))")
        }
        for descriptor in pipe { _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK) }
        startThread { [self] in
            run()
            stopped.signal()
        }
    }

    deinit {
        close(pipe[0])
        close(pipe[1])
    }

    private func run() {
        // The store is closed here, once everything is written (its log copied into the store file and removed),
        // while the submitting thread answers the last batches (`finishWriting`).
        defer { currentWriter = nil }
        var streamStarted: UInt64?
        while let batch = queue.pop() {
            if lock.withLock({ isStopping }) { currentWriter?.prepareToClose() }
            // Under the lock that reports the batch written, so that a submitter that sees it written also finds
            // its entries to free (`finish` frees them while the store closes, not after).
            func keepForRelease() {
                guard spentBytes + batch.byteCount <= Self.maximumSpentBytes else { return }
                spent.append(batch.entries)
                spentBytes += batch.byteCount
            }
            do {
                let started = streamStarted ?? DispatchTime.now().uptimeNanoseconds
                if batch.commits {
                    let summary: AppendSummary
                    if streamStarted == nil {
                        summary = try commitRetryingWhileBusy(batch)
                    } else {
                        try writer.write(batch.entries)
                        summary = try writer.commit()
                        streamStarted = nil
                    }
                    let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
                    lock.withLock {
                        keepForRelease()
                        finished.append(Done(token: batch.token, summary: summary, committedAt: MonotonicClock.now(),
                                             seconds: seconds))
                        written += 1
                    }
                } else {
                    // A stream of chunks in one transaction: an error is the stream's, nothing of it is committed.
                    if streamStarted == nil {
                        try writer.begin()
                        streamStarted = started
                    }
                    try writer.write(batch.entries)
                    lock.withLock {
                        keepForRelease()
                        written += 1
                    }
                }
            } catch {
                currentWriter?.rollback()
                lock.withLock {
                    keepForRelease()
                    failure = error
                }
                queue.close()
                wake()
                return
            }
            wake()
        }
        // Stopped with a stream still open (its input failed): nothing of it is committed.
        if streamStarted != nil { currentWriter?.rollback() }
    }

    /// Writes and commits one batch (an entry the store refuses is quarantined, see `StoreWriter.append`). Another
    /// process holding the write lock past the busy timeout (a long manual transaction in `sqlite3`) is waited out,
    /// and so is a store fault (a full disk, a read-only remount, an I/O error): the batch is retried with backoff
    /// until it commits, and nothing is acknowledged meanwhile, so the broker or the platform holds the rest. Only
    /// `finish()` gives up on a fault (the batch is then not committed, and nothing of it was acknowledged).
    private func commitRetryingWhileBusy(_ batch: Batch) throws -> AppendSummary {
        var pause: UInt32 = 50_000
        while true {
            do {
                let summary = try writer.append(batch.entries)
                lock.withLock {
                    if var ended = currentOutage {
                        ended.endedAt = MonotonicClock.now()
                        endedOutages.append(ended)
                        currentOutage = nil
                    }
                }
                return summary
            } catch let error as SQLiteError where error.isBusy || error.isStoreFault {
                currentWriter?.rollback()
                if error.isStoreFault {
                    reopenIfReplaced()
                    lock.withLock {
                        if currentOutage == nil {
                            currentOutage = Outage(since: MonotonicClock.now(), reason: error.message, endedAt: nil)
                        }
                    }
                    wake()
                }
                // Stopping gives up on a batch the store cannot take: nothing of it was acknowledged.
                if lock.withLock({ isStopping }) { throw error }
                usleep(pause)
                pause = min(pause * 2, error.isStoreFault ? 5_000_000 : 1_000_000)
            }
        }
    }

    /// A store file renamed away or deleted is waited for; one replaced by another file (a restore) is reopened.
    /// The old connection is closed first, so that its write-ahead log (which has the old file's pages and sits under
    /// the path's name) is checkpointed into the old file and removed before the new file is opened.
    private func reopenIfReplaced() {
        guard let reopen else { return }
        if let old = currentWriter {
            guard old.database.fileHasMoved, FileManager.default.fileExists(atPath: path) else { return }
            currentWriter = nil
        }
        currentWriter = try? reopen()
    }

    private func wake() {
        var byte: UInt8 = 1
        _ = write(pipe[1], &byte, 1)
    }

    /// Hands a batch over, waiting while `capacity` batches are already waiting. Throws what stopped the writer, or
    /// `Stopped` after `finishWriting()` or `finish()` (the batch is not written, and not waited for).
    public func submit(_ batch: Batch) throws {
        if let failure = lock.withLock({ failure }) { throw failure }
        var batch = batch
        batch.byteCount = batch.entries.reduce(0) { $0 + $1.byteCount }
        lock.withLock { submitted += 1 }
        guard queue.push(batch) else {
            lock.withLock { submitted -= 1 }
            if let failure = lock.withLock({ failure }) { throw failure }
            throw Stopped()
        }
    }

    /// A batch submitted after the committer was told to stop.
    public struct Stopped: Error, CustomStringConvertible {
        public var description: String { "the store's writer has stopped: the batch was not written" }
    }

    /// Batches committed since the last call, oldest first; throws what stopped the committer. `releasing` false
    /// keeps the written entries for a later call, so that their answers go out before the time their freeing takes.
    public func takeFinished(releasing: Bool = true) throws -> [Done] {
        var buffer = [UInt8](repeating: 0, count: 64)
        while read(pipe[0], &buffer, buffer.count) > 0 {}
        if releasing { releaseSpent() }
        return try lock.withLock {
            // Batches committed before a failure are handed back first (their senders are owed an answer); the
            // failure is thrown by the next call.
            if finished.isEmpty, let failure { throw failure }
            let done = finished
            finished.removeAll()
            return done
        }
    }

    /// Frees the entries of written batches (on this thread, which allocated them).
    public func releaseSpent() {
        var released: [[StoreEntry]] = []
        lock.withLock {
            swap(&released, &spent)
            spentBytes = 0
        }
        released.removeAll()
    }

    /// Waits until every submitted batch is written, and returns the committed ones not taken yet. When the writer
    /// fails meanwhile, the batches it committed before are returned first (their senders are owed an answer); the
    /// failure is thrown by the next call.
    public func waitUntilWritten(releasing: Bool = true) throws -> [Done] {
        var done: [Done] = []
        do {
            while true {
                done += try takeFinished(releasing: releasing)
                if lock.withLock({ written == submitted }) { return done + (try takeFinished(releasing: releasing)) }
                var check = pollfd(fd: pipe[0], events: Int16(POLLIN), revents: 0)
                _ = poll(&check, 1, 100)
            }
        } catch where !done.isEmpty {
            return done
        }
    }

    /// Writes what was submitted, stops the thread, and returns the last finished batches. An open stream that was
    /// never committed is rolled back.
    /// From now on a batch the store cannot take (a fault, a lock held by another process) is given up instead of
    /// retried, so that stopping never waits for the store; call before handing over the last batch.
    public func beginStopping() {
        lock.withLock { isStopping = true }
    }

    /// Takes no more batches and waits until every submitted one is written; returns the committed ones not taken
    /// yet, their entries not freed. The writer thread then closes the store, while the caller answers these
    /// batches; `finish()` waits for that.
    public func finishWriting() throws -> [Done] {
        beginStopping()
        queue.close()
        return try waitUntilWritten(releasing: false)
    }

    /// Waits for the writer thread to end, which closes the store (its log copied into the store file and removed),
    /// before returning: left to the thread's last reference, the close could come after the process has exited.
    public func finish() throws -> [Done] {
        beginStopping()
        queue.close()
        releaseSpent()   // while the writer writes what is left and closes the store
        if !lock.withLock({ isStopped }) {
            stopped.wait()
            lock.withLock { isStopped = true }
        }
        return try takeFinished()
    }
}
