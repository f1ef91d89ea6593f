import Foundation
import Glibc
import Testing
@testable import ThingLogCore
@testable import ThingLogStore

/// A real full disk under a running receiver (issue 15): a small tmpfs holds the store. The receiver stays up,
/// answers 503 with Retry-After and `/healthz` 503 while the disk is full, resumes by itself once the filesystem
/// grows, and every envelope it answered 200 is in the store. Needs root to mount; skipped with a note otherwise.
@Suite(.serialized) struct StoreOutageTests {
    let directory = TemporaryDirectory()

    static func mount(_ arguments: [String]) -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/mount")
        process.arguments = arguments
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }

    /// A 3 MiB tmpfs mounted at `name` in the test directory, or nil (the test is skipped, with a note) without root.
    func smallFilesystem(_ name: String) throws -> String? {
        let mountPoint = directory.file(name)
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        guard getuid() == 0, Self.mount(["-t", "tmpfs", "-o", "size=3m", "tmpfs", mountPoint]) else {
            print("StoreOutageTests: skipped, mounting a tmpfs needs root (run the suite as root to test a full disk)")
            return nil
        }
        return mountPoint
    }

    /// Grows the filesystem back and unmounts it.
    static func release(_ mountPoint: String) {
        _ = mount(["-o", "remount,size=64m", mountPoint])
        umount(mountPoint)
    }

    @Test func aFullDiskIsWaitedOutAndNothingAnsweredIsLost() throws {
        guard let mountPoint = try smallFilesystem("small") else { return }
        defer { Self.release(mountPoint) }
        let server = try ReceiveServer(directory: directory, database: mountPoint + "/s.db")
        var answered: [Int] = []
        var sawFull = false
        var seq = 0
        // Distinct device times: a reading at a device's stored time would be a duplicate, not a new one.
        let base = Timestamp.now() - 3_600_000
        for _ in 0..<1000 {  // stops at the full disk (frames made 400 requests a near fit)
            let body = "[" + (0..<100).map { index in
                ReceiveTests.envelope(seq: seq + index, device: "dev\(index % 10)", value: seq + index,
                                      at: base + Int64(seq + index) * 10)
            }.joined(separator: ",") + "]"
            // The request that meets the full disk is held until the disk has room again: the client gives up on
            // it (as the platform would, and sends it again later); the next ones are answered 503 at once.
            let result = try server.curl(["--max-time", "3", "-X", "POST", "--data-binary", body, server.url])
            if result.status == 0 { continue }
            if result.status == 200 {
                answered += (seq..<seq + 100).map { $0 }
            } else {
                #expect(result.status == 503, "\(result)")
                sawFull = true
                break
            }
            seq += 100
        }
        try #require(sawFull, "the 3 MiB filesystem filled up")
        #expect(try server.curl(["http://127.0.0.1:\(server.port)/healthz"]).status == 503)
        #expect(server.process.isRunning, "still up while the disk is full")
        #expect(Self.mount(["-o", "remount,size=64m", mountPoint]))
        // It resumes by itself: the held batch commits, then POSTs are taken again.
        let deadline = Date().addingTimeInterval(20)
        var resumed = false
        while Date() < deadline {
            if try server.curl(["http://127.0.0.1:\(server.port)/healthz"]).status == 200 { resumed = true; break }
            usleep(200_000)
        }
        #expect(resumed, "healthy again without a restart")
        let more = try server.curl(["-X", "POST", "--data-binary", ReceiveTests.envelope(seq: 1_000_000), server.url])
        #expect(more.status == 200)
        let (status, log) = server.stop()
        #expect(status == 0, "\(log)")
        #expect(log.contains("store unavailable") && log.contains("store available again"), "\(log)")
        let stored = Set(try Database(path: server.database, mode: .readOnly)
            .rows("SELECT packet_id FROM reports").compactMap { $0[0].int64Value })
        let missing = Set(answered.map(Int64.init)).subtracting(stored).sorted()
        let detail = "missing \(missing.count): \(missing.prefix(20)) of \(answered.count) answered, "
            + "\(stored.count) stored"
        #expect(missing.isEmpty, "every envelope answered 200 is stored; \(detail)")
        #expect(stored.contains(1_000_000))
    }

    /// The same full disk under a live MQTT stream: the subscriber stays up and connected, stops acknowledging
    /// (the broker keeps what it has not acknowledged), `/healthz` answers 503, and after the filesystem grows every
    /// published report is stored, without a restart.
    @Test func aFullDiskUnderALiveStreamIsWaitedOutBySubscribe() throws {
        guard let mountPoint = try smallFilesystem("small-mqtt") else { return }
        defer { Self.release(mountPoint) }
        let broker = try MosquittoBroker()
        let db = mountPoint + "/s.db", http = try MosquittoBroker.freePort()
        let subscriber = try SubscriberProcess(arguments: ["--broker", broker.address, "--db", db,
                                                           "--client-id", "full", "--http", "127.0.0.1:\(http)"],
                                               directory: directory.path)
        #expect(subscriber.waitFor("connected to"))
        func health() -> Int? {
            let curl = Process(), output = Pipe()
            curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
            curl.arguments = ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "3",
                              "http://127.0.0.1:\(http)/healthz"]
            curl.standardOutput = output
            guard (try? curl.run()) != nil else { return nil }
            curl.waitUntilExit()
            return Int(String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
        }
        // 20 devices × 6000 timestamped reports over the last two hours: about twice what fits in 3 MiB (frames
        // store a report's readings in one row: 1500 each no longer filled it).
        let base = Timestamp.now() - 7_200_000
        let publishers = DispatchGroup()
        for device in 1...20 {
            let lines = (0..<6000).map { index in
                "{\"method\":\"report\",\"params\":{\"MQ2\":\(100 + index % 400),\"MQ7\":\(60 + device),"
                    + "\"DHT11_T\":21,\"DHT11_H\":55},\"timestamp\":\(base + Int64(index) * 1000 + Int64(device))}"
            }
            DispatchQueue.global().async(group: publishers) {
                try? broker.publish(lines: lines, topic: "$thing/up/property/CS0SLTKSYA/dev\(device)")
            }
        }
        publishers.wait()
        try #require(subscriber.waitFor("store unavailable", timeout: 30), "the 3 MiB filesystem filled up")
        #expect(eventually(timeout: 10) { health() == 503 }, "/healthz says so")
        #expect(subscriber.process.isRunning, "still up while the disk is full")
        #expect(Self.mount(["-o", "remount,size=64m", mountPoint]))
        #expect(eventually(timeout: 60) {
            (try? Database(path: db, mode: .readOnly).scalar("SELECT COUNT(*) FROM reports")?.int64Value) == 120_000
        }, "every published report stored after the disk grew")
        #expect(eventually(timeout: 10) { health() == 200 }, "healthy again without a restart")
        #expect(subscriber.terminate() == 0)
        #expect(subscriber.standardError.contains("store available again"), "\(subscriber.standardError)")
        let stats = try StoreStatistics.read(from: Database(path: db, mode: .readOnly))
        #expect(stats.reports == 120_000 && stats.readings == 480_000 && stats.duplicates == 0)
    }

    /// The store file renamed away under a running receiver is an outage (SQLite would go on writing to a file nobody
    /// reads); renamed back, writing resumes; replaced by another file (a restore), the receiver reopens it.
    @Test func aStoreMovedAwayIsWaitedForAndAReplacedOneReopened() throws {
        let server = try ReceiveServer(directory: directory)
        let path = server.database
        func post(_ seq: Int) throws -> Int {
            try server.curl(["--max-time", "3", "-X", "POST", "--data-binary",
                             ReceiveTests.envelope(seq: seq, at: 1_796_000_000_000 + Int64(seq)), server.url]).status
        }
        func waitHealthy() throws -> Bool {
            let deadline = Date().addingTimeInterval(15)
            while Date() < deadline {
                if try server.curl(["http://127.0.0.1:\(server.port)/healthz"]).status == 200 { return true }
                usleep(200_000)
            }
            return false
        }
        #expect(try post(1) == 200)
        try FileManager.default.moveItem(atPath: path, toPath: path + ".moved")
        #expect(try post(2) == 0, "held: the client gives up, the platform would send it again")
        #expect(try post(3) == 503)
        #expect(try server.curl(["http://127.0.0.1:\(server.port)/healthz"]).status == 503)
        try FileManager.default.moveItem(atPath: path + ".moved", toPath: path)
        #expect(try waitHealthy(), "back in place: the held batch commits")
        #expect(try post(4) == 200)

        // A restore: another file at the path. The receiver writes to it from then on.
        let backup = runCLI(["backup", directory.file("restore.db"), "--db", path], in: directory.path)
        #expect(backup.status == 0, "\(backup.standardError)")
        try FileManager.default.moveItem(atPath: path, toPath: path + ".old")
        try FileManager.default.copyItem(atPath: directory.file("restore.db"), toPath: path)
        _ = try post(5)
        #expect(try waitHealthy())
        #expect(try post(6) == 200)
        #expect(server.stop().status == 0)
        let stored = Set(try Database(path: path, mode: .readOnly).rows("SELECT packet_id FROM reports")
            .compactMap { $0[0].int64Value })
        #expect(stored.isSuperset(of: [1, 2, 4, 6]), "\(stored.sorted())")
    }
}
