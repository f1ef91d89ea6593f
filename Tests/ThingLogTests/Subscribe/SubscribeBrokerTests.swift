import Foundation
import Testing
@testable import ThingLogCore
@testable import ThingLogStore

/// `subscribe` against a real mosquitto broker (issue #3's required tests).
@Suite(.serialized) struct SubscribeBrokerTests {
    let directory = TemporaryDirectory()

    /// `count` report payloads of one device; `timestamped` adds a device timestamp, else the seed firmware's shape.
    func payloads(device: Int, count: Int, timestamped: Bool) -> [String] {
        (0..<count).map { index in
            let time = Timestamp.now() - 60_000 + Int64(index) * 10 + Int64(device)
            let stamp = timestamped ? ",\"timestamp\":\(time)" : ""
            return "{\"method\":\"report\",\"clientToken\":\"123\",\"params\":{\"MQ2\":\(100 + index % 400),"
                + "\"MQ135\":\(90 + device),\"MQ4\":80,\"MQ7\":\(60 + index % 7),\"DHT11_T\":21,"
                + "\"DHT11_H\":55}\(stamp)}"
        }
    }

    func count(_ db: String, _ sql: String) -> Int64 {
        (try? Database(path: db, mode: .readOnly).scalar(sql)?.int64Value) ?? -1
    }

    @Test func storesExactlyWhatTenDevicesPublished() throws {
        let broker = try MosquittoBroker()
        let db = directory.file("ten.db")
        let subscriber = try SubscriberProcess(arguments: ["--broker", broker.address, "--db", db,
                                                           "--client-id", "ten"], directory: directory.path)
        #expect(subscriber.waitFor("connected to"))
        let publishers = DispatchGroup()
        for device in 1...10 {
            let lines = payloads(device: device, count: 1000, timestamped: device % 2 == 0)
            DispatchQueue.global().async(group: publishers) {
                try? broker.publish(lines: lines, topic: "$thing/up/property/CS0SLTKSYA/dev\(device)")
            }
        }
        publishers.wait()
        #expect(eventually { count(db, "SELECT COUNT(*) FROM readings") >= 60_000 })
        #expect(subscriber.terminate() == 0)
        let stats = try StoreStatistics.read(from: Database(path: db))
        #expect(stats.reports == 10_000 && stats.readings == 60_000 && stats.duplicates == 0 && stats.devices == 10)
        #expect(subscriber.standardError.contains("subscribe: 10000 messages, 10000 reports, 60000 readings"))
    }

    @Test(arguments: [true, false])
    func killedThreeTimesWhileMessagesFlowLosesAndDoublesNothing(timestamped: Bool) throws {
        let broker = try MosquittoBroker()
        let db = directory.file("kill-\(timestamped).db")
        let arguments = ["--broker", broker.address, "--db", db, "--client-id", "survivor"]
        var subscriber = try SubscriberProcess(arguments: arguments, directory: directory.path)
        #expect(subscriber.waitFor("connected to"))
        let devices = 10, perDevice = 1000
        // Feed each device's publisher slowly, so messages are in flight when the subscriber dies.
        let feeders = DispatchGroup()
        for device in 1...devices {
            let publisher = try broker.startPublisher(topic: "$thing/up/property/CS0SLTKSYA/dev\(device)")
            let lines = payloads(device: device, count: perDevice, timestamped: timestamped)
            DispatchQueue.global().async(group: feeders) {
                for chunk in stride(from: 0, to: lines.count, by: 10) {
                    let text = lines[chunk..<min(chunk + 10, lines.count)].joined(separator: "\n") + "\n"
                    try? publisher.stdin.fileHandleForWriting.write(contentsOf: Data(text.utf8))
                    Thread.sleep(forTimeInterval: 0.02)
                }
                try? publisher.stdin.fileHandleForWriting.close()
                publisher.process.waitUntilExit()
            }
        }
        for _ in 0..<3 {
            Thread.sleep(forTimeInterval: 0.45)
            subscriber.killHard()
            #expect(try Database(path: db).scalar("PRAGMA integrity_check") == .text("ok"))
            subscriber = try SubscriberProcess(arguments: arguments, directory: directory.path)
            #expect(subscriber.waitFor("connected to"))
        }
        feeders.wait()
        #expect(eventually { count(db, "SELECT COUNT(*) FROM readings") >= Int64(devices * perDevice * 6) })
        Thread.sleep(forTimeInterval: 0.5)
        #expect(subscriber.terminate() == 0)
        let database = try Database(path: db)
        #expect(try database.scalar("PRAGMA integrity_check") == .text("ok"))
        #expect(try database.integer("SELECT COUNT(*) FROM readings") == Int64(devices * perDevice * 6))
        let rejects = try database.rows("SELECT reason, COUNT(*) FROM rejects GROUP BY reason")
            .map { "\($0[0]) \($0[1])" }.joined(separator: ", ")
        #expect(try database.integer("SELECT COUNT(*) FROM reports") == Int64(devices * perDevice),
                "rejects: \(rejects); \(subscriber.standardError.suffix(600))")
        // Every MQ2 value each device sent is there exactly once per report.
        #expect(try database.integer("""
            SELECT COUNT(*) FROM (SELECT device, value, COUNT(*) AS n FROM readings_v WHERE metric = 'MQ2'
            GROUP BY device, value
            HAVING n != \(perDevice / 400 + (perDevice % 400 > 0 ? 1 : 0)) AND value < \(100 + perDevice % 400)
            )
            """) == 0)
    }

    @Test func reconnectsAndResubscribesAfterABrokerRestart() throws {
        let broker = try MosquittoBroker()
        let db = directory.file("restart.db")
        let subscriber = try SubscriberProcess(arguments: ["--broker", broker.address, "--db", db, "--client-id", "r"],
                                               directory: directory.path)
        #expect(subscriber.waitFor("connected to"))
        try broker.publish(lines: payloads(device: 1, count: 100, timestamped: false),
                           topic: "$thing/up/property/CS0SLTKSYA/dev1")
        #expect(eventually { count(db, "SELECT COUNT(*) FROM reports") == 100 })
        broker.stop()
        #expect(subscriber.waitFor("lost"))
        Thread.sleep(forTimeInterval: 1.0)
        try broker.start()
        // The broker lost every session: the subscriber must subscribe again by itself.
        #expect(subscriber.waitFor("connected to", count: 2, timeout: 20))
        try broker.publish(lines: payloads(device: 2, count: 100, timestamped: false),
                           topic: "$thing/up/property/CS0SLTKSYA/dev2")
        #expect(eventually { count(db, "SELECT COUNT(*) FROM reports") == 200 })
        #expect(subscriber.terminate() == 0)
        #expect(subscriber.standardError.contains("1 reconnects"))
    }

    @Test func malformedOversizedAndNonUTF8PayloadsAreQuarantinedAndTheStreamGoesOn() throws {
        let broker = try MosquittoBroker()
        let db = directory.file("bad.db")
        let subscriber = try SubscriberProcess(arguments: ["--broker", broker.address, "--db", db, "--client-id", "b"],
                                               directory: directory.path)
        #expect(subscriber.waitFor("connected to"))
        let topic = "$thing/up/property/CS0SLTKSYA/dev1"
        let good = payloads(device: 1, count: 4, timestamped: false)
        try broker.publish(lines: [good[0]], topic: topic)
        try broker.publish(bytes: Array("{\"method\":\"report\",".utf8), topic: topic)
        try broker.publish(lines: [good[1]], topic: topic)
        try broker.publish(bytes: [0x7B, 0xFF, 0xFE, 0x7D], topic: topic)
        try broker.publish(bytes: Array(("{\"method\":\"report\",\"params\":{},\"pad\":\""
                                         + String(repeating: "x", count: 300 * 1024) + "\"}").utf8), topic: topic)
        try broker.publish(lines: [good[2], "{\"method\":\"report\",\"params\":[1]}", good[3]], topic: topic)
        try broker.publish(lines: [good[0]],
                           topic: "$thing/up/property/CS0SLTKSYA/" + String(repeating: "d", count: 80))
        #expect(eventually {
            count(db, "SELECT COUNT(*) FROM reports") == 4 && count(db, "SELECT COUNT(*) FROM rejects") == 5
        })
        #expect(subscriber.terminate() == 0)
        let stats = try StoreStatistics.read(from: Database(path: db))
        #expect(stats.rejects == ["not_json": 1, "invalid_utf8": 1, "too_large": 1, "no_params": 1, "bad_topic": 1])
        #expect(try Database(path: db).integer("SELECT size FROM rejects WHERE reason = 'too_large'") > 300 * 1024)
    }

    /// Issue 9: messages that used to crash the subscriber, and one the store refuses, are quarantined and
    /// acknowledged: the subscriber stays up, later reports are stored, and a restart finds nothing redelivered.
    @Test func poisonMessagesAreQuarantinedAndAcknowledgedNeverRedelivered() throws {
        let broker = try MosquittoBroker()
        let db = directory.file("poison.db")
        let arguments = ["--broker", broker.address, "--db", db, "--client-id", "poison"]
        var subscriber = try SubscriberProcess(arguments: arguments, directory: directory.path)
        #expect(subscriber.waitFor("connected to"))
        // A constraint of the store's own that one message breaks: "cannot store" stands for any such refusal.
        try Database(path: db).execute("""
            CREATE TRIGGER refuse BEFORE INSERT ON reports WHEN thinglog_payload(
                (SELECT shape FROM report_shapes WHERE id = NEW.shape_id), NEW.content, NEW.received_at
            ) LIKE '%refuse-me%'
            BEGIN SELECT RAISE(ABORT, 'refused'); END
            """)
        let topic = "$thing/up/property/CS0SLTKSYA/dev1"
        let properties = (0..<300).map { "\"p\($0)\":1" }.joined(separator: ",")
        try broker.publish(lines: [
            #"{"method":"report","timestamp":-9500000000000000,"params":{"MQ7":1}}"#,
            #"{"method":"report","timestamp":1.7e308,"params":{"MQ7":1e17}}"#,
            #"{"method":"report","params":{"MQ7":1,"MQ7":2}}"#,
            #"{"method":"report","params":{"# + properties + "}}",
            #"{"method":"report","params":{"MQ7.CO":400}}"#,
            #"{"method":"report","params":{"MQ7":3,"note":"refuse-me"}}"#,
            #"{"method":"event_post","eventId":"\u001b]0;x\u0007","params":{}}"#,
        ], topic: topic)
        try broker.publish(lines: [#"{"method":"report","params":{"MQ7":4}}"#], topic: "$thing/up/property/P/=cmd")
        let good = payloads(device: 1, count: 3, timestamped: true)
        try broker.publish(lines: good, topic: topic)
        #expect(eventually {
            count(db, "SELECT COUNT(*) FROM rejects") == 5 && count(db, "SELECT COUNT(*) FROM reports") == 6
        })
        #expect(subscriber.waitFor("connected to") && !subscriber.standardError.contains("error"))
        #expect(subscriber.terminate() == 0)
        #expect(subscriber.standardError.contains("subscribe: 11 messages, 6 reports"))
        let stats = try StoreStatistics.read(from: Database(path: db))
        #expect(stats.rejects == ["duplicate_key": 1, "too_many_properties": 1, "unstorable": 1, "bad_event": 1,
                                  "bad_topic": 1])
        #expect(stats.dropped == ["bad_property": 1])
        #expect(try Database(path: db).integer("SELECT COUNT(*) FROM reports_v WHERE clock_skew") == 2)
        // The persistent session holds nothing unacknowledged: a restart receives no message.
        subscriber = try SubscriberProcess(arguments: arguments, directory: directory.path)
        #expect(subscriber.waitFor("connected to"))
        Thread.sleep(forTimeInterval: 1.0)
        #expect(subscriber.terminate() == 0)
        #expect(subscriber.standardError.contains("subscribe: 0 messages"), "\(subscriber.standardError)")
    }

    @Test func wrongCredentialsExitOneWithAClearMessage() throws {
        let passwords = directory.file("passwords")
        let tool = Process()
        tool.executableURL = URL(fileURLWithPath: try #require(MosquittoBroker.executable("mosquitto_passwd")))
        tool.arguments = ["-c", "-b", passwords, "logger", "right-secret"]
        try tool.run()
        tool.waitUntilExit()
        let broker = try MosquittoBroker(extraConfiguration: "allow_anonymous false\npassword_file \(passwords)")
        directory.write("wrong", "wrong-secret\n")
        directory.write("right", "right-secret\n")
        let refused = try SubscriberProcess(arguments: ["--broker", broker.address, "--db", directory.file("c.db"),
                                                        "--username", "logger", "--password-file", "wrong"],
                                            directory: directory.path)
        #expect(refused.waitForExit(timeout: 10) == 1)
        #expect(refused.standardError.contains("thinglog: error: \(broker.address): the broker refused the connection"))
        #expect(!refused.standardError.contains("wrong-secret"))
        let accepted = try SubscriberProcess(arguments: ["--broker", broker.address, "--db", directory.file("c.db"),
                                                         "--username", "logger", "--password-file", "right"],
                                             directory: directory.path)
        #expect(accepted.waitFor("connected to"))
        #expect(accepted.terminate() == 0)
    }

    @Test func simulatePublishesWhatSubscribeStores() throws {
        let broker = try MosquittoBroker()
        let db = directory.file("sim.db")
        let subscriber = try SubscriberProcess(arguments: ["--broker", broker.address, "--db", db, "--client-id", "s"],
                                               directory: directory.path)
        #expect(subscriber.waitFor("connected to"))
        let simulate = try runBinary(["simulate", "--broker", broker.address, "--devices", "4", "--count", "400",
                                      "--rate", "2000", "--seed", "3"], in: directory.path)
        #expect(simulate.status == 0)
        #expect(simulate.standardError.contains("published 400 reports of 4 devices"))
        #expect(simulate.standardError.contains("400 acknowledged"))
        #expect(eventually { count(db, "SELECT COUNT(*) FROM readings") == 2400 })
        #expect(subscriber.terminate() == 0)
        #expect(count(db, "SELECT COUNT(DISTINCT device) FROM readings_v") == 4)
    }

    /// `--reply` answers as the platform does, only after the commit (SPEC §4): report_reply code 0, 406 for a report
    /// the data template flags, event_reply for an event, nothing for a rejected message. `--http` serves the
    /// counters of the same run.
    @Test func repliesAndMetricsAsThePlatformWouldAnswer() throws {
        let template = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("templates/CS0SLTKSYA.json")
        directory.write("thinglog.json", "{\"template\": \(JSONWriter.quoted(template.path))}")
        let broker = try MosquittoBroker()
        let db = directory.file("reply.db")
        let httpPort = try MosquittoBroker.freePort()
        let subscriber = try SubscriberProcess(arguments: ["--broker", broker.address, "--db", db, "--reply",
                                                           "--http", "127.0.0.1:\(httpPort)"],
                                               directory: directory.path)
        #expect(subscriber.waitFor("connected to"))
        let listener = Process()
        listener.executableURL = URL(fileURLWithPath: try #require(MosquittoBroker.executable("mosquitto_sub")))
        listener.arguments = ["-h", "127.0.0.1", "-p", String(broker.port), "-t", "$thing/down/#", "-v", "-C", "3",
                              "-W", "10"]
        let output = Pipe()
        listener.standardOutput = output
        try listener.run()
        Thread.sleep(forTimeInterval: 0.3)
        let time = Timestamp.now() - 1_000
        try broker.publish(lines: [
            "{\"method\":\"report\",\"clientToken\":\"ok-1\",\"params\":{\"MQ2\":300},\"timestamp\":\(time)}",
            "{\"method\":\"report\",\"clientToken\":\"bad-2\",\"params\":{\"MQ2\":5000},\"timestamp\":\(time + 1)}",
            "not json",
        ], topic: "$thing/up/property/CS0SLTKSYA/dev1")
        try broker.publish(lines: [
            "{\"method\":\"event_post\",\"clientToken\":\"ev-3\",\"eventId\":\"gas_alarm\",\"type\":\"alert\","
                + "\"params\":{\"sensor\":\"MQ2\",\"value\":900}}",
        ], topic: "$thing/up/event/CS0SLTKSYA/dev1")
        let replies = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        listener.waitUntilExit()
        let lines = replies.split(separator: "\n").map(String.init)
        #expect(lines.count == 3, "\(replies)")
        #expect(lines.contains("$thing/down/property/CS0SLTKSYA/dev1 {\"method\":\"report_reply\","
                               + "\"clientToken\":\"ok-1\",\"code\":0,\"status\":\"success\"}"))
        #expect(lines.contains("$thing/down/property/CS0SLTKSYA/dev1 {\"method\":\"report_reply\","
                               + "\"clientToken\":\"bad-2\",\"code\":406,\"status\":\"checkReportData fail\"}"))
        #expect(lines.contains("$thing/down/event/CS0SLTKSYA/dev1 {\"method\":\"event_reply\","
                               + "\"clientToken\":\"ev-3\",\"code\":0,\"status\":\"\",\"data\":{}}"))
        #expect(count(db, "SELECT COUNT(*) FROM reports") == 3, "every replied message is stored")

        let metrics = try ReceiveServer.fetch("http://127.0.0.1:\(httpPort)/metrics")
        #expect(metrics.contains("thinglog_messages_total{source=\"mqtt\",result=\"stored\"} 3"), "\(metrics)")
        #expect(metrics.contains("thinglog_messages_total{source=\"mqtt\",result=\"rejected\"} 1"))
        #expect(metrics.contains("thinglog_mqtt_connected 1"))
        #expect(try ReceiveServer.fetch("http://127.0.0.1:\(httpPort)/healthz") == "ok\n")
        #expect(subscriber.terminate() == 0)
    }

    /// Issue #15: the wall clock stepping back five minutes mid-stream (NTP correcting a gateway) does not make
    /// receive times run backwards: each device's untimed reports keep increasing, unique receive times, and none is
    /// quarantined for want of a free millisecond.
    @Test func receiveTimesKeepIncreasingWhenTheClockStepsBack() throws {
        let broker = try MosquittoBroker()
        let db = directory.file("step.db")
        final class SteppingClock: @unchecked Sendable {
            let lock = NSLock()
            var calls: Int64 = 0
            var stepped = false
            let start = Timestamp.now()
            func now() -> Int64 {
                lock.lock()
                defer { lock.unlock() }
                calls += 1
                return start + calls * 50 - (stepped ? 300_000 : 0)
            }
            func stepBack() {
                lock.lock()
                stepped = true
                lock.unlock()
            }
        }
        let clock = SteppingClock()
        let done = DispatchSemaphore(value: 0)
        final class Outcome: @unchecked Sendable { var result: CommandResult? }
        let outcome = Outcome()
        let path = directory.path, address = broker.address
        Thread.detachNewThread {
            outcome.result = runCLI(["subscribe", "--broker", address, "--db", db, "--client-id", "step",
                                     "--count", "60"], in: path, clock: { clock.now() })
            done.signal()
        }
        #expect(eventually { FileManager.default.fileExists(atPath: db) })
        Thread.sleep(forTimeInterval: 0.5)
        // Half of each device's reports, then the step back, then the other half.
        for half in 0..<2 {
            for device in 1...2 {
                let lines = payloads(device: device, count: 30, timestamped: false)
                try broker.publish(lines: Array(lines[(half * 15)..<(half * 15 + 15)]),
                                   topic: "$thing/up/property/CS0SLTKSYA/dev\(device)")
            }
            if half == 0 {
                #expect(eventually { count(db, "SELECT COUNT(*) FROM reports") == 30 })
                clock.stepBack()
            }
        }
        #expect(done.wait(timeout: .now() + 30) == .success)
        #expect(outcome.result?.status == 0, "\(outcome.result?.standardError ?? "")")
        let database = try Database(path: db, mode: .readOnly)
        for device in ["dev1", "dev2"] {
            let times = try database.rows("""
                SELECT ts FROM reports_v WHERE device = '\(device)' AND receive_time ORDER BY id
                """).compactMap { $0[0].int64Value }
            #expect(times.count == 30, "\(device)")
            #expect(zip(times, times.dropFirst()).allSatisfy { $0 < $1 },
                    "\(device): \(times.map { $0 - clock.start })")
        }
        #expect(count(db, "SELECT COUNT(*) FROM rejects") == 0)
    }

    @Test func shareGroupSubscribesTheDefaultFiltersShared() {
        let conflicting = runCLI(["subscribe", "--share-group", "g", "--topic", "a/b"], in: directory.path)
        #expect(conflicting.status == 2 && conflicting.standardError.contains("--share-group"))
        let bad = runCLI(["subscribe", "--share-group", "a/b"], in: directory.path)
        #expect(bad.status == 2 && bad.standardError.contains("--share-group a/b"))
    }
}
