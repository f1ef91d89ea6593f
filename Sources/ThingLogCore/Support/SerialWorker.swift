/// Runs jobs one after another on a thread of its own, in the order they were handed over: the caller goes on while
/// they run (two cores: `analyze` computes one device while the previous one's results are written). A job that
/// fails makes the worker skip the rest; the failure is thrown by the next `submit`, `drain` or `sync`.
///
/// Work that needs the result, or the resource the jobs use, calls `sync`: it waits until every job has run, then
/// runs on the caller's thread, so the resource is never used by two threads at once. The thread holds the worker
/// until `stop()`.
public final class SerialWorker: @unchecked Sendable {
    private struct Job: @unchecked Sendable {
        let run: () throws -> Void
        let isLarge: Bool
    }

    private let jobs = BoundedQueue<Job>(capacity: 4096)
    private let state = Condition()
    private var pending = 0
    private var pendingLarge = 0
    private let maximumLarge: Int
    private var failure: (any Error)?

    /// At most `maximumLarge` jobs that hold much data wait or run (a caller quicker than the jobs then waits:
    /// memory stays bounded); small ones (a delete, a commit) only up to the queue's 4096.
    public init(maximumLarge: Int = 2) {
        self.maximumLarge = maximumLarge
        startThread { [jobs, state] in
            while let job = jobs.pop() {
                state.lock()
                let failed = self.failure != nil
                state.unlock()
                var error: (any Error)?
                if !failed {
                    do { try job.run() } catch let thrown { error = thrown }
                }
                state.lock()
                if let error, self.failure == nil { self.failure = error }
                self.pending -= 1
                if job.isLarge { self.pendingLarge -= 1 }
                state.broadcast()
                state.unlock()
            }
        }
    }

    /// Hands a job over (a large one waits while `maximumLarge` are pending); throws an earlier job's failure
    /// instead.
    public func submit(isLarge: Bool = false, _ job: @escaping () throws -> Void) throws {
        state.lock()
        while isLarge, pendingLarge >= maximumLarge, failure == nil { state.wait() }
        if let failure {
            state.unlock()
            throw failure
        }
        pending += 1
        if isLarge { pendingLarge += 1 }
        state.unlock()
        jobs.push(Job(run: job, isLarge: isLarge))
    }

    /// Hands a job over unless one is still waiting or running (work a later run covers, such as a checkpoint);
    /// whether it did.
    @discardableResult
    public func submitIfIdle(_ job: @escaping () throws -> Void) -> Bool {
        state.lock()
        guard pending == 0, failure == nil else {
            state.unlock()
            return false
        }
        pending += 1
        state.unlock()
        jobs.push(Job(run: job, isLarge: false))
        return true
    }

    /// Waits until every job handed over has run; throws the first failure.
    public func drain() throws {
        state.lock()
        defer { state.unlock() }
        while pending > 0 { state.wait() }
        if let failure { throw failure }
    }

    /// Runs `body` on this thread once every job has run.
    public func sync<T>(_ body: () throws -> T) throws -> T {
        try drain()
        return try body()
    }

    /// Waits for the jobs, then forgets a failure (after the caller has dealt with it, e.g. rolled back).
    public func reset() {
        state.lock()
        while pending > 0 { state.wait() }
        failure = nil
        state.unlock()
    }

    /// No more jobs: the thread ends once the waiting ones have run.
    public func stop() { jobs.close() }
}
