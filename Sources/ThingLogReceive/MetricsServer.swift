import FoundationEssentials
import Dispatch
import Glibc
import HTTP
import ThingLogCore
import ThingLogStore

/// `GET /metrics` and `GET /healthz` on a thread of their own, for `subscribe --http` (SPEC §4): the same endpoints
/// `receive` serves, over the same server. Counters come from `metrics`; the store size is read when scraped.
public final class MetricsServer: @unchecked Sendable {
    private let server: HTTPServer
    private let metrics: Metrics
    private let databasePath: String
    private let stopPipe: [Int32]

    public init(host: String, port: Int, metrics: Metrics, databasePath: String) throws {
        var limits = HTTPServer.Limits()
        limits.maximumBodyBytes = 0
        limits.maximumConnections = 16
        server = try HTTPServer(host: host, port: port, limits: limits)
        self.metrics = metrics
        self.databasePath = databasePath
        var descriptors: [Int32] = [-1, -1]
        guard pipe(&descriptors) == 0 else { throw RuntimeError("cannot create a pipe") }
        stopPipe = descriptors
    }

    deinit {
        close(stopPipe[0])
        close(stopPipe[1])
    }

    /// The port it listens on.
    public var port: Int { server.port }

    /// Serves on a new thread until `stop()`.
    public func start() {
        startThread { [self] in
            while !StopSignal.isRequested(stopPipe[0]) {
                for (ticket, request) in server.poll(timeout: 1_000, wake: [stopPipe[0]]) {
                    server.respond(ticket, response(to: request), keepAlive: request.keepAlive)
                }
            }
            server.closeAll()
        }
    }

    public func stop() {
        var byte: UInt8 = 1
        _ = write(stopPipe[1], &byte, 1)
    }

    func response(to request: HTTPRequest) -> HTTPResponse {
        let response: HTTPResponse
        switch (request.method, request.path) {
        case ("GET", "/metrics"):
            let text = metrics.render(dbBytes: StoreStatistics.storeBytes(path: databasePath))
            response = HTTPResponse(status: 200, headers: [("Content-Type", "text/plain; version=0.0.4")],
                                    body: Array(text.utf8))
        case ("GET", "/healthz"):
            response = metrics.problem.map { .text(503, "\($0)\n") } ?? .text(200, "ok\n")
        case (_, "/metrics"), (_, "/healthz"):
            response = .text(405, "method not allowed\n", headers: [("Allow", "GET")])
        default:
            response = .text(404, "not found\n")
        }
        metrics.add("thinglog_http_requests_total", [("code", String(response.status))])
        return response
    }
}
