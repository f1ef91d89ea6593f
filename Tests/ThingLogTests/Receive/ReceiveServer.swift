import Foundation
import Glibc
import Testing

/// A `thinglog receive` child process on a free loopback port, for tests that talk to it as real clients do
/// (curl, Python's http.client, raw sockets).
final class ReceiveServer: @unchecked Sendable {
    let directory: TemporaryDirectory
    let port: Int
    let database: String
    let process = Process()
    private let errorPipe = Pipe()

    /// Starts `thinglog receive` with `arguments` (after `--listen` and `--db`) and waits until it listens.
    init(directory: TemporaryDirectory, arguments: [String] = [], environment: [String: String] = [:],
         database: String? = nil) throws {
        self.directory = directory
        port = try MosquittoBroker.freePort()
        self.database = database ?? directory.file("receive.db")
        process.executableURL = URL(fileURLWithPath: try thinglogBinary())
        process.arguments = ["receive", "--listen", "127.0.0.1:\(port)", "--db", self.database] + arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory.path)
        var variables = ProcessInfo.processInfo.environment
        for (key, value) in environment { variables[key] = value }
        process.environment = variables
        process.standardError = errorPipe
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if (try? rawRequest("GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"))?
                .hasPrefix("HTTP/1.1 200") == true { return }
            usleep(20_000)
        }
        Issue.record("receive did not start listening")
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    /// SIGTERM, then waits; returns the exit status and what it wrote on stderr.
    func stop() -> (status: Int32, log: String) {
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        let log = String(decoding: errorPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return (process.terminationStatus, log)
    }

    var url: String { "http://127.0.0.1:\(port)/thinglog/forward" }

    /// Sends `text` on a new connection and returns everything the server sends until it closes (or 5 s pass).
    func rawRequest(_ text: String) throws -> String {
        try rawRequest(bytes: Array(text.utf8))
    }

    /// With `halfClose`, the sending side is shut down after the request (as `nc -N` does).
    func rawRequest(bytes: [UInt8], pause: useconds_t = 0, halfClose: Bool = false) throws -> String {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        guard connected else { throw SocketFailure() }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        if pause > 0 {
            // A byte at a time; stops when the server has closed the connection.
            for byte in bytes {
                let sent = [byte].withUnsafeBytes { send(descriptor, $0.baseAddress, 1, Int32(MSG_NOSIGNAL)) }
                var probe = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
                if sent < 0 || poll(&probe, 1, 0) > 0 { break }
                usleep(pause)
            }
        } else {
            _ = bytes.withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        }
        if halfClose { shutdown(descriptor, Int32(SHUT_WR)) }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            response += buffer[0..<count]
        }
        return String(decoding: response, as: UTF8.self)
    }

    struct SocketFailure: Error {}

    /// The body curl fetches from `url` (empty on failure).
    static func fetch(_ url: String) throws -> String {
        let curl = Process()
        curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        curl.arguments = ["-s", url]
        let output = Pipe()
        curl.standardOutput = output
        try curl.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        curl.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// Runs curl with `arguments`; returns (HTTP status, body).
    func curl(_ arguments: [String]) throws -> (status: Int, body: String) {
        let curl = Process()
        curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        curl.arguments = ["-s", "-S", "-o", "-", "-w", "\n%{http_code}"] + arguments
        let output = Pipe()
        curl.standardOutput = output
        try curl.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        curl.waitUntilExit()
        var text = String(decoding: data, as: UTF8.self)
        let newline = text.lastIndex(of: "\n") ?? text.startIndex
        let status = Int(text[text.index(after: newline)...]) ?? 0
        text = String(text[..<newline])
        return (status, text)
    }
}
