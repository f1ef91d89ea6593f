import Foundation
import Glibc
import ThingLogCore

/// The one writer thread: it owns a `StoreWriter` (handed over with `sending`) and commits batches on a thread of
/// its own, so the next batch is received and parsed while this one is written and fsynced (group commit,
/// pipelined). A batch is begun, written and committed whole; only then is its `Token` handed back (the packet ids
/// to PUBACK, the HTTP requests to answer), and `wakeDescriptor` becomes readable so a `poll` loop notices at once.
/// At most one batch waits while another is written: a full pipeline makes `submit` wait (backpressure). Used by
/// `subscribe` and `receive`.
public final class GroupCommitter<Token: Sendable>: @unchecked Sendable {
    /// Messages to store, and what to release once they are committed.
    public struct Batch: @unchecked Sendable {
        public var entries: [StoreEntry]
        public var token: Token

        public init(entries: [StoreEntry], token: Token) {
            self.entries = entries
            self.token = token
        }
    }

    /// A committed batch.
    public struct Done {
        public var token: Token
        public var summary: AppendSummary
        /// Monotonic milliseconds at the commit, and how long writing and committing took (seconds).
        public var committedAt: Int64
        public var seconds: Double
    }

    private let writer: StoreWriter
    private let queue = BoundedQueue<Batch>(capacity: 1)
    private let lock = NSLock()
    private var finished: [Done] = []
    private var failure: (any Error)?
    private let stopped = DispatchSemaphore(value: 0)
    private var pipe: [Int32] = [-1, -1]

    /// Readable while finished batches wait to be taken.
    public var wakeDescriptor: Int32 { pipe[0] }

    public init(writer: sending StoreWriter) throws {
        self.writer = writer
        guard Glibc.pipe(&pipe) == 0 else {
            throw RuntimeError("cannot create a pipe: \(String(cString: strerror(errno)))")
        }
        for descriptor in pipe { _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK) }
        Thread.detachNewThread { [self] in
            run()
            stopped.signal()
        }
    }

    deinit {
        close(pipe[0])
        close(pipe[1])
    }

    private func run() {
        while let batch = queue.pop() {
            do {
                let started = DispatchTime.now().uptimeNanoseconds
                let summary = try commitRetryingWhileBusy(batch)
                let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
                lock.withLock {
                    finished.append(Done(token: batch.token, summary: summary, committedAt: MonotonicClock.now(),
                                         seconds: seconds))
                }
            } catch {
                writer.rollback()
                lock.withLock { failure = error }
                queue.close()
                wake()
                return
            }
            wake()
        }
    }

    /// Writes and commits one batch (an entry the store refuses is quarantined, see `StoreWriter.append`). Another
    /// process holding the write lock past the busy timeout (a long manual transaction in `sqlite3`) is waited out,
    /// not fatal: nothing is acknowledged meanwhile, so the broker holds the rest.
    private func commitRetryingWhileBusy(_ batch: Batch) throws -> AppendSummary {
        var pause: UInt32 = 50_000
        while true {
            do {
                return try writer.append(batch.entries)
            } catch let error as SQLiteError where error.isBusy {
                writer.rollback()
                usleep(pause)
                pause = min(pause * 2, 1_000_000)
            }
        }
    }

    private func wake() {
        var byte: UInt8 = 1
        _ = write(pipe[1], &byte, 1)
    }

    /// Hands a batch over, waiting while another one is already waiting.
    public func submit(_ batch: Batch) throws {
        if let failure = lock.withLock({ failure }) { throw failure }
        guard !batch.entries.isEmpty else { return }
        if !queue.push(batch), let failure = lock.withLock({ failure }) { throw failure }
    }

    /// Batches committed since the last call, oldest first; throws what stopped the committer.
    public func takeFinished() throws -> [Done] {
        var buffer = [UInt8](repeating: 0, count: 64)
        while read(pipe[0], &buffer, buffer.count) > 0 {}
        return try lock.withLock {
            if let failure { throw failure }
            let done = finished
            finished.removeAll()
            return done
        }
    }

    /// Writes what was submitted, stops the thread, and returns the last finished batches.
    public func finish() throws -> [Done] {
        queue.close()
        stopped.wait()
        return try takeFinished()
    }
}
