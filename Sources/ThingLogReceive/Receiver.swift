import FoundationEssentials
import Dispatch
import Glibc
import HTTP
import ThingLogCore
import ThingLogIngest
import ThingLogStore

/// `thinglog receive` (SPEC §4): the platform's HTTP data forwarding into the store. One thread runs the network loop
/// (`HTTPServer`); a `GroupCommitter` writes on its own. Every request read in one turn of the loop goes into one
/// batch (group commit across connections), and each request is answered 200 only once its batch is committed, so a
/// crash at any instant loses nothing that was answered 200.
public final class Receiver {
    /// What `receive` was asked to do.
    public struct Settings: Sendable {
        public var path: String
        /// The forwarding rule's token; nil: requests are not signed (loopback, or `--no-auth`).
        public var token: String?
        public var maximumBodyBytes: Int
        /// The store, for `thinglog_db_bytes`.
        public var databasePath: String

        public init(path: String, token: String?, maximumBodyBytes: Int, databasePath: String) {
            self.path = path
            self.token = token
            self.maximumBodyBytes = maximumBodyBytes
            self.databasePath = databasePath
        }
    }

    /// The requests one committed batch answers, with the body each one gets.
    struct Answers: Sendable {
        var requests: [(ticket: HTTPServer.Ticket, body: String, keepAlive: Bool)] = []
    }

    public let settings: Settings
    public let metrics: Metrics
    private let server: HTTPServer
    private let committer: GroupCommitter<Answers>
    private let parser: ReportParser
    private let wallClock: () -> Int64
    /// Receive times of envelopes: the wall clock, never running backwards (a step back is slewed).
    private let receiveClock: ReceiveClock
    private let log: (String) -> Void
    private var open = GroupCommitter<Answers>.Batch(entries: [], token: Answers())
    private var awaitingCommit = 0
    private var failure: String?

    /// Listens on `host:port` (port 0: any free port, see `port`).
    public init(host: String, port: Int, writer: sending StoreWriter, parser: ReportParser, settings: Settings,
                metrics: Metrics = Metrics(), wallClock: @escaping () -> Int64 = Timestamp.now,
                reopen: (@Sendable () throws -> StoreWriter)? = nil, log: @escaping (String) -> Void) throws {
        var limits = HTTPServer.Limits()
        limits.maximumBodyBytes = settings.maximumBodyBytes
        server = try HTTPServer(host: host, port: port, limits: limits)
        committer = try GroupCommitter(writer: writer, reopen: reopen)
        self.parser = parser
        self.settings = settings
        self.metrics = metrics
        self.wallClock = wallClock
        receiveClock = ReceiveClock(wall: wallClock, monotonic: MonotonicClock.now)
        self.log = log
    }

    /// The port the server listens on.
    public var port: Int { server.port }

    /// Serves until `stopDescriptor` becomes readable (SIGINT/SIGTERM): then stops accepting, answers what is in
    /// flight after its commit, and returns. Throws when the store fails (after answering 503 to what it held).
    public func run(stopDescriptor: Int32) throws {
        var stopping = false
        while true {
            reportOutages()
            if !stopping, StopSignal.isRequested(stopDescriptor) {
                stopping = true
                server.stopAccepting()
            }
            let requests = server.poll(timeout: stopping ? 20 : 1_000,
                                       wake: (stopping ? [] : [stopDescriptor]) + [committer.wakeDescriptor])
            for (ticket, request) in requests { handle(request, ticket) }
            do {
                // During a store outage the writer holds a batch: the open one waits (and grows no further, as new
                // POSTs get 503), so the loop keeps answering.
                if !open.entries.isEmpty, committer.isIdle {
                    awaitingCommit += open.token.requests.count
                    try committer.submit(open)
                    open = GroupCommitter<Answers>.Batch(entries: [], token: Answers())
                }
                answer(try committer.takeFinished())
            } catch {
                failure = "\(error)"
                for request in open.token.requests { respond(request.ticket, .text(503, "store failure\n"), false) }
                throw error
            }
            if stopping && awaitingCommit == 0 && open.entries.isEmpty && !server.isWriting { break }
            if stopping, committer.outage != nil {
                // Stopping while the store cannot write: what is held is answered 503 (the platform sends it
                // again), and the writer gives up on its batch.
                for request in open.token.requests { respond(request.ticket, .text(503, "store unavailable\n"), false) }
                break
            }
        }
        // The last answers go out while the writer closes the store.
        do {
            answer(try committer.finishWriting())
        } catch {
            _ = try? committer.finish()   // the store is closed before the error goes up
            throw error
        }
        _ = try committer.finish()
        server.closeAll()
    }

    /// One log line when a store outage starts and one when it ends; meanwhile POSTs and `/healthz` get 503.
    private func reportOutages() {
        if let outage = committer.outage, metrics.problem == nil {
            metrics.problem = "store unavailable: \(outage.reason)"
            log("receive: store unavailable (\(outage.reason)): answering 503 with Retry-After, retrying the "
                + "\(awaitingCommit) requests held until it can write again")
        }
        for ended in committer.takeEndedOutages() {
            metrics.problem = nil
            let seconds = Double((ended.endedAt ?? ended.since) - ended.since) / 1000
            log("receive: store available again after \(Formatting.fixed(seconds, digits: 1)) s (\(ended.reason))")
        }
    }

    private func answer(_ done: [GroupCommitter<Answers>.Done]) {
        for batch in done {
            let summary = batch.summary
            metrics.recordCommit(source: "http", summary: summary, seconds: batch.seconds, now: wallClock())
            for request in batch.token.requests {
                respond(request.ticket, .json(200, request.body), request.keepAlive)
            }
            awaitingCommit -= batch.token.requests.count
        }
    }

    private func respond(_ ticket: HTTPServer.Ticket, _ response: HTTPResponse, _ keepAlive: Bool) {
        metrics.add("thinglog_http_requests_total", [("code", String(response.status))])
        server.respond(ticket, response, keepAlive: keepAlive)
    }

    /// Answers a request at once, or (a POST of envelopes) adds its entries to the open batch to answer after the
    /// commit.
    private func handle(_ request: HTTPRequest, _ ticket: HTTPServer.Ticket) {
        guard var response = immediateResponse(to: request, ticket) else { return }
        response.isHeadOnly = request.method == "HEAD"
        respond(ticket, response, request.keepAlive)
    }

    /// The answer to give at once, or nil for a POST of envelopes, which joins the open batch and is answered after
    /// its commit.
    private func immediateResponse(to request: HTTPRequest, _ ticket: HTTPServer.Ticket) -> HTTPResponse? {
        switch (request.method, request.path) {
        case ("GET", "/metrics"), ("HEAD", "/metrics"):
            let text = metrics.render(dbBytes: StoreStatistics.storeBytes(path: settings.databasePath))
            return HTTPResponse(status: 200, headers: [("Content-Type", "text/plain; version=0.0.4")],
                                body: Array(text.utf8))
        case ("GET", "/healthz"), ("HEAD", "/healthz"):
            if let failure { return .text(503, "store failure: \(failure)\n") }
            if let problem = metrics.problem { return .text(503, "\(problem)\n") }
            return .text(200, "ok\n")
        case ("POST", settings.path):
            if let refusal = authenticate(request) { return refusal }
            if let problem = metrics.problem {
                // Nothing more is taken in while the store cannot write: the platform sends it again later.
                return .text(503, "\(problem)\n", headers: [("Retry-After", "5")])
            }
            let entries = ForwardedBody.entries(request.body, now: receiveClock.now(), parser: parser)
            guard !entries.isEmpty else { return .json(200, Self.body(for: [])) }
            open.entries += entries
            open.token.requests.append((ticket, Self.body(for: entries), request.keepAlive))
            return nil
        case ("GET", settings.path):
            if let refusal = authenticate(request) { return refusal }
            guard let echo = request.header("echostr") ?? request.queryValue("echostr")
                    ?? request.queryValue("Echostr") else {
                return .text(400, "expected an Echostr header or echostr parameter\n")
            }
            return .text(200, echo)
        case (_, settings.path), (_, "/metrics"), (_, "/healthz"):
            let allowed = request.path == settings.path ? "GET, POST" : "GET, HEAD"
            return .text(405, "method not allowed\n", headers: [("Allow", allowed)])
        default:
            return .text(404, "not found\n")
        }
    }

    /// nil when the request may go on: no token configured, or a valid signature (headers or query parameters).
    private func authenticate(_ request: HTTPRequest) -> HTTPResponse? {
        guard let token = settings.token else { return nil }
        func field(_ name: String) -> String? {
            request.header(name.lowercased())
                ?? request.query.first { $0.name.lowercased() == name.lowercased() }?.value
        }
        guard let failure = ForwardingSignature.verify(token: token, signature: field("Signature"),
                                                       timestamp: field("Timestamp"), nonce: field("Nonce"),
                                                       now: wallClock() / 1000) else { return nil }
        return .text(401, "unauthorized: \(failure)\n")
    }

    /// The JSON answer to a POST: how many envelopes it carried, and which were quarantined and why.
    static func body(for entries: [StoreEntry]) -> String {
        var rejected: [String] = []
        for (index, entry) in entries.enumerated() {
            guard case .rejected(let rejection) = entry else { continue }
            rejected.append("{\"index\":\(index),\"reason\":\(JSONWriter.quoted(rejection.reason.rawValue)),"
                            + "\"detail\":\(JSONWriter.quoted(String(rejection.detail.prefix(200))))}")
        }
        return "{\"received\":\(entries.count),\"accepted\":\(entries.count - rejected.count),\"rejected\":["
            + rejected.joined(separator: ",") + "]}"
    }
}
