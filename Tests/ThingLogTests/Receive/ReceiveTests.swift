import Foundation
import Glibc
import Testing
@testable import ThingLogCore
@testable import ThingLogStore

/// `thinglog receive` driven by real clients: curl for the protocol and every status, raw sockets for what curl
/// will not send, Python's http.client for many concurrent keep-alive clients and a kill -9.
@Suite(.serialized) struct ReceiveTests {
    let directory = TemporaryDirectory()

    /// A forwarding envelope (protocol.md §6) for device `device`, with a device timestamp of now − `ago` ms.
    static func envelope(seq: Int, device: String = "dev1", value: Int = 500, ago: Int64 = 60_000,
                         timestamped: Bool = true, at time: Int64? = nil) -> String {
        let now = Timestamp.now()
        let stamp = timestamped ? ",\"timestamp\":\(time ?? (now - ago - Int64(seq)))" : ""
        return "{\"payload\":{\"clientToken\":\"t\(seq)\",\"method\":\"report\",\"params\":{\"MQ7\":\(value),"
            + "\"DHT11_T\":21}\(stamp)},\"seq\":\(seq),\"timestamp\":\(now / 1000),"
            + "\"topic\":\"$thing/up/property/CS0SLTKSYA/\(device)\",\"devicename\":\"\(device)\","
            + "\"productid\":\"CS0SLTKSYA\"}"
    }

    func count(_ database: String, _ sql: String) throws -> Int64 {
        try Database(path: database, mode: .readOnly).integer(sql)
    }

    @Test func thePlatformsSignatureExample() {
        #expect(ForwardingSignature.signature(token: "aaa", timestamp: "1604458421", nonce: "IkOaKMDalrAzUTxC")
                == "c259ed29ec13ba7c649fe0893007401a36e70453")
        let good = "c259ed29ec13ba7c649fe0893007401a36e70453"
        #expect(ForwardingSignature.verify(token: "aaa", signature: good, timestamp: "1604458421",
                                           nonce: "IkOaKMDalrAzUTxC", now: 1_604_458_421 + 300) == nil)
        #expect(ForwardingSignature.verify(token: "aaa", signature: good.uppercased(), timestamp: "1604458421",
                                           nonce: "IkOaKMDalrAzUTxC", now: 1_604_458_421) == nil)
        #expect(ForwardingSignature.verify(token: "aaa", signature: good, timestamp: "1604458421",
                                           nonce: "IkOaKMDalrAzUTxC", now: 1_604_458_421 + 301) == .expired)
        #expect(ForwardingSignature.verify(token: "aab", signature: good, timestamp: "1604458421",
                                           nonce: "IkOaKMDalrAzUTxC", now: 1_604_458_421) == .mismatch)
        #expect(ForwardingSignature.verify(token: "aaa", signature: nil, timestamp: "1604458421",
                                           nonce: "IkOaKMDalrAzUTxC", now: 1_604_458_421) == .missing("Signature"))
        #expect(ForwardingSignature.verify(token: "aaa", signature: good, timestamp: "soon",
                                           nonce: "IkOaKMDalrAzUTxC", now: 1_604_458_421) == .badTimestamp)
    }

    @Test func signedRequestsOnlyAndNothingStoredOtherwise() throws {
        let server = try ReceiveServer(directory: directory, arguments: ["--token-env", "TOKEN"],
                                       environment: ["TOKEN": "aaa"])
        let body = Self.envelope(seq: 1)
        var unsigned = try server.curl(["-X", "POST", "--data-binary", body, server.url])
        #expect(unsigned.status == 401)
        let now = String(Timestamp.now() / 1000)
        let signature = ForwardingSignature.signature(token: "aaa", timestamp: now, nonce: "n0nce")
        let stale = String(Timestamp.now() / 1000 - 400)
        let staleSignature = ForwardingSignature.signature(token: "aaa", timestamp: stale, nonce: "n0nce")
        unsigned = try server.curl(["-X", "POST", "--data-binary", body, "-H", "Signature: \(staleSignature)",
                                    "-H", "Timestamp: \(stale)", "-H", "Nonce: n0nce", server.url])
        #expect(unsigned.status == 401 && unsigned.body.contains("5 minutes"), "expired")
        let wrong = signature.dropLast() + (signature.hasSuffix("0") ? "1" : "0")
        unsigned = try server.curl(["-X", "POST", "--data-binary", body, "-H", "Signature: \(wrong)",
                                    "-H", "Timestamp: \(now)", "-H", "Nonce: n0nce", server.url])
        #expect(unsigned.status == 401, "wrong signature")
        #expect(try count(server.database, "SELECT COUNT(*) FROM reports") == 0, "nothing stored before a signature")

        let signed = try server.curl(["-X", "POST", "--data-binary", body, "-H", "Signature: \(signature)",
                                      "-H", "Timestamp: \(now)", "-H", "Nonce: n0nce", server.url])
        #expect(signed.status == 200 && signed.body.contains("\"accepted\":1"))
        let query = "?Signature=\(signature)&Timestamp=\(now)&Nonce=n0nce"
        let byQuery = try server.curl(["-X", "POST", "--data-binary", Self.envelope(seq: 2), server.url + query])
        #expect(byQuery.status == 200, "signing fields as query parameters")
        let handshake = try server.curl(["-H", "Echostr: abc123", "-H", "Signature: \(signature)",
                                         "-H", "Timestamp: \(now)", "-H", "Nonce: n0nce", server.url])
        #expect(handshake.status == 200 && handshake.body == "abc123")
        #expect(try server.curl(["-H", "Echostr: abc123", server.url]).status == 401)
        #expect(try count(server.database, "SELECT COUNT(*) FROM reports") == 2)
        #expect(server.stop().status == 0)
    }

    @Test func everyStatusTheSpecNames() throws {
        let server = try ReceiveServer(directory: directory, arguments: ["--max-body", "4096"])
        #expect(try server.curl([server.url.replacingOccurrences(of: "forward", with: "other")]).status == 404)
        #expect(try server.curl(["-X", "DELETE", server.url]).status == 405)
        #expect(try server.curl(["-X", "POST", "--data-binary", String(repeating: "x", count: 5000), server.url])
            .status == 413)
        #expect(try server.rawRequest("POST /thinglog/forward HTTP/1.1\r\nHost: t\r\n\r\n")
            .hasPrefix("HTTP/1.1 411"))
        #expect(try server.rawRequest("NOT A REQUEST\r\n\r\n").hasPrefix("HTTP/1.1 400"))
        let huge = "GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: " + String(repeating: "a", count: 17_000) + "\r\n\r\n"
        #expect(try server.rawRequest(huge).hasPrefix("HTTP/1.1 431"))
        #expect(try server.curl(["http://127.0.0.1:\(server.port)/healthz"]) == (200, "ok\n") ? true : false)
        // Chunked, pipelined and keep-alive: three requests on one connection, answered in order.
        let chunk = Self.envelope(seq: 7)
        let pipelined = "POST /thinglog/forward HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            + String(chunk.utf8.count, radix: 16) + "\r\n\(chunk)\r\n0\r\n\r\n"
            + "GET /thinglog/forward?echostr=one HTTP/1.1\r\nHost: t\r\n\r\n"
            + "GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
        let answers = try server.rawRequest(pipelined)
        let statuses = answers.components(separatedBy: "HTTP/1.1 ").dropFirst().map { String($0.prefix(3)) }
        #expect(statuses == ["200", "200", "200"], "\(answers)")
        #expect(answers.contains("\"accepted\":1") && answers.contains("\r\n\r\none") && answers.hasSuffix("ok\n"))
        // HEAD answers carry no body, so a pipelined request after one is read correctly.
        let head = try server.rawRequest("HEAD /healthz HTTP/1.1\r\nHost: t\r\n\r\n"
            + "GET /thinglog/forward?echostr=two HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        #expect(head.hasPrefix("HTTP/1.1 200") && head.contains("Content-Length: 3\r\n")
                && head.hasSuffix("\r\n\r\ntwo") && !head.contains("ok\n"), "\(head)")
        // A client that half-closes after its POST still gets the 200 once the envelope is committed.
        let envelope = Self.envelope(seq: 77)
        let halfClosed = try server.rawRequest(bytes: Array(("POST /thinglog/forward HTTP/1.1\r\nHost: t\r\n"
            + "Content-Length: \(envelope.utf8.count)\r\n\r\n\(envelope)").utf8), halfClose: true)
        #expect(halfClosed.hasPrefix("HTTP/1.1 200") && halfClosed.contains("\"accepted\":1"), "\(halfClosed)")
        // Bad data in good HTTP: quarantined with its reason, still 200.
        let bad = try server.curl(["-X", "POST", "--data-binary", "[\(Self.envelope(seq: 8)), {\"seq\": 9}, 42]",
                                   server.url])
        #expect(bad.status == 200 && bad.body.contains("\"accepted\":1") && bad.body.contains("bad_record"))
        #expect(try count(server.database, "SELECT COUNT(*) FROM rejects") == 2)
        #expect(server.stop().status == 0)
    }

    @Test func aSlowClientIsCutOffWithoutBlockingOthers() throws {
        let server = try ReceiveServer(directory: directory)
        let cutOff = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var slowAnswer: String?
        nonisolated(unsafe) var slowSeconds = 0.0
        let slow = Thread {
            let begin = Date()
            // A header line a byte every 0.3 s: the request never completes.
            slowAnswer = try? server.rawRequest(bytes: Array(("GET /healthz HTTP/1.1\r\nHost: t\r\nX-Slow: "
                                                              + String(repeating: "s", count: 60)).utf8),
                                                pause: 300_000)
            slowSeconds = Date().timeIntervalSince(begin)
            cutOff.signal()
        }
        slow.start()
        let started = Date()
        for seq in 1...20 {
            #expect(try server.curl(["-X", "POST", "--data-binary", Self.envelope(seq: seq), server.url]).status == 200)
        }
        #expect(Date().timeIntervalSince(started) < 5, "others are served while one client trickles")
        #expect(try count(server.database, "SELECT COUNT(*) FROM reports") == 20)
        cutOff.wait()
        #expect(slowAnswer == "" && slowSeconds >= 9 && slowSeconds < 14,
                "closed unanswered about 10 s after its first byte (\(slowSeconds) s)")
        #expect(server.stop().status == 0)
    }

    @Test func resentEnvelopesAreDuplicatesAndMetricsMatchStats() throws {
        let server = try ReceiveServer(directory: directory)
        let batch = "[" + (1...50).map { Self.envelope(seq: $0, device: "dev\($0 % 5)", value: $0) }
            .joined(separator: ",") + "]"
        let receiveTimed = "[" + (51...60).map { Self.envelope(seq: $0, timestamped: false) }
            .joined(separator: ",") + "]"
        for _ in 0..<2 {
            #expect(try server.curl(["-X", "POST", "--data-binary", batch, server.url]).status == 200)
            #expect(try server.curl(["-X", "POST", "--data-binary", receiveTimed, server.url]).status == 200)
        }
        #expect(try count(server.database, "SELECT COUNT(*) FROM reports") == 60, "the resend doubled nothing")
        #expect(try count(server.database, "SELECT COUNT(*) FROM reports WHERE packet_id IS NULL") == 0,
                "seq kept in the raw archive")
        let metrics = try server.curl(["http://127.0.0.1:\(server.port)/metrics"])
        #expect(metrics.status == 200)
        let samples = Self.parsePrometheus(metrics.body)
        #expect(samples["thinglog_messages_total{source=\"http\",result=\"stored\"}"] == 60)
        #expect(samples["thinglog_messages_total{source=\"http\",result=\"duplicate\"}"] == 60)
        #expect(samples["thinglog_readings_total"] == 120)
        #expect(samples["thinglog_http_requests_total{code=\"200\"}"] == 5, "4 POSTs and the start-up /healthz probe")
        #expect(samples["thinglog_commit_seconds_count"] == samples["thinglog_commits_total"])
        #expect(samples["thinglog_build_info{version=\"\(BuildInfo.version)\",commit=\"\"}"] == 1)
        let stats = try runBinary(["stats", "--json", "--db", server.database], in: directory.path)
        #expect(stats.standardOutput.contains("\"reports\":60") && stats.standardOutput.contains("\"readings\":120"))
        #expect(server.stop().status == 0)
    }

    /// A strict reading of the text format 0.0.4: `# HELP`/`# TYPE` lines, then `name{labels} value` samples.
    static func parsePrometheus(_ text: String) -> [String: Double] {
        var samples: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
                Issue.record("not a sample line: \(line)")
                continue
            }
            samples[String(line[..<space])] = value
        }
        return samples
    }

    /// 16 concurrent keep-alive clients (Python's http.client) post envelopes; the server is killed with SIGKILL
    /// mid-stream. Every envelope answered 200 is in the store; resending everything to a new server stores each
    /// missing one once and doubles nothing.
    @Test func killNineUnderConcurrentClientsLosesNothingAnswered() throws {
        let script = directory.write("clients.py", """
            import http.client, json, sys, threading, time
            port, per_client, out, base = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
            answered = []
            lock = threading.Lock()
            def client(index):
                try:
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                    for n in range(per_client):
                        seq = index * 100000 + n
                        body = json.dumps({"payload": {"method": "report", "params": {"MQ7": n},
                                           "timestamp": base + n * 1000},
                                           "seq": seq, "timestamp": int(time.time()),
                                           "topic": "$thing/up/property/CS0SLTKSYA/dev%d" % index})
                        connection.request("POST", "/thinglog/forward", body)
                        response = connection.getresponse()
                        response.read()
                        if response.status == 200:
                            with lock: answered.append(seq)
                except Exception:
                    pass
            threads = [threading.Thread(target=client, args=(i,)) for i in range(16)]
            for t in threads: t.start()
            for t in threads: t.join()
            json.dump(answered, open(out, "w"))
            """)
        let first = try ReceiveServer(directory: directory)
        let answeredFile = directory.file("answered.json")
        let clients = Process()
        clients.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        let base = String(Timestamp.now() - 3_600_000)
        clients.arguments = ["python3", script, String(first.port), "400", answeredFile, base]
        try clients.run()
        usleep(700_000)
        kill(first.process.processIdentifier, SIGKILL)
        clients.waitUntilExit()
        first.process.waitUntilExit()
        let answered = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: answeredFile)))
            as? [Int] ?? []
        #expect(answered.count > 100, "the clients got answers before the kill")
        let stored = try Database(path: first.database, mode: .readOnly).rows("SELECT packet_id FROM reports")
            .compactMap { $0[0].int64Value }
        #expect(Set(answered.map(Int64.init)).isSubset(of: Set(stored)), "every envelope answered 200 is stored")

        // Everything again, to a restarted receiver on the same store: nothing doubles.
        let second = try ReceiveServer(directory: directory)
        let again = Process()
        again.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        again.arguments = ["python3", script, String(second.port), "400", directory.file("again.json"), base]
        try again.run()
        again.waitUntilExit()
        #expect(second.stop().status == 0)
        let total = try count(second.database, "SELECT COUNT(*) FROM reports")
        let distinct = try count(second.database, "SELECT COUNT(DISTINCT device_id || '/' || packet_id) FROM reports")
        #expect(total == distinct && total == 16 * 400, "each envelope stored exactly once")
    }
}

/// `receive`'s usage errors name the flag (SPEC §3).
@Suite struct ReceiveUsageTests {
    let directory = TemporaryDirectory()

    @Test func listeningBeyondLoopbackNeedsATokenOrNoAuth() {
        let open = runCLI(["receive", "--listen", "0.0.0.0:8080"], in: directory.path)
        #expect(open.status == 2 && open.standardError.contains("--listen") && open.standardError.contains("token"))
        let both = runCLI(["receive", "--token-env", "T", "--no-auth"], in: directory.path)
        #expect(both.status == 2 && both.standardError.contains("--no-auth"))
        let path = runCLI(["receive", "--path", "/metrics"], in: directory.path)
        #expect(path.status == 2 && path.standardError.contains("--path"))
        let body = runCLI(["receive", "--max-body", "0"], in: directory.path)
        #expect(body.status == 2 && body.standardError.contains("--max-body"))
    }
}
