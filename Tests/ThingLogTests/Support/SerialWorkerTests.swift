import Foundation
import Testing
@testable import ThingLogCore

/// The writer thread of `analyze`: jobs run in order on one thread, a failure stops the rest and reaches the caller,
/// and at most `maximumLarge` large jobs are pending.
@Suite struct SerialWorkerTests {
    final class Log: @unchecked Sendable {
        let lock = Lock()
        var entries: [Int] = []
        func add(_ entry: Int) { lock.withLock { entries.append(entry) } }
        var all: [Int] { lock.withLock { entries } }
    }

    struct Failure: Error {}

    @Test func jobsRunInOrderAndSyncSeesThemAll() throws {
        let worker = SerialWorker()
        defer { worker.stop() }
        let log = Log()
        for index in 0..<500 { try worker.submit(isLarge: index % 7 == 0) { log.add(index) } }
        let seen = try worker.sync { log.all }
        #expect(seen == Array(0..<500))
    }

    @Test func aFailureSkipsTheRestAndIsThrownUntilReset() throws {
        let worker = SerialWorker()
        defer { worker.stop() }
        let log = Log()
        try worker.submit { log.add(1) }
        try worker.submit { throw Failure() }
        try? worker.submit { log.add(3) }
        #expect(throws: Failure.self) { try worker.drain() }
        #expect(throws: Failure.self) { try worker.submit { log.add(4) } }
        #expect(log.all == [1])
        worker.reset()
        try worker.submit { log.add(5) }
        try worker.drain()
        #expect(log.all == [1, 5])
    }

    /// `submitIfIdle` (the checkpoint of `analyze`) hands a job over only when none is waiting or running.
    @Test func submitIfIdleSkipsWhileAJobIsPending() throws {
        let worker = SerialWorker()
        defer { worker.stop() }
        let gate = DispatchSemaphore(value: 0)
        let log = Log()
        #expect(worker.submitIfIdle { gate.wait(); log.add(1) })
        #expect(!worker.submitIfIdle { log.add(2) }, "one is running")
        gate.signal()
        try worker.drain()
        #expect(worker.submitIfIdle { log.add(3) })
        try worker.drain()
        #expect(log.all == [1, 3])
    }

    @Test func atMostTwoLargeJobsArePending() throws {
        let worker = SerialWorker(maximumLarge: 2)
        defer { worker.stop() }
        let gate = DispatchSemaphore(value: 0)
        let log = Log()
        try worker.submit(isLarge: true) { gate.wait(); log.add(1) }
        try worker.submit(isLarge: true) { log.add(2) }
        // Small jobs never wait for large ones.
        for index in 3..<10 { try worker.submit { log.add(index) } }
        let third = DispatchSemaphore(value: 0)
        let submitted = Log()
        Thread.detachNewThread {
            try? worker.submit(isLarge: true) { log.add(10) }
            submitted.add(1)
            third.signal()
        }
        #expect(third.wait(timeout: .now() + 0.3) == .timedOut, "a third large job waits while two are pending")
        #expect(submitted.all.isEmpty)
        gate.signal()
        #expect(third.wait(timeout: .now() + 5) == .success)
        try worker.drain()
        #expect(log.all == Array(1...10))
    }
}
