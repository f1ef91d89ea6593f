import Foundation
import Testing
@testable import ThingLogSubscribe

/// A real mosquitto broker on a free loopback port, with its own configuration in a temporary directory.
final class MosquittoBroker: @unchecked Sendable {
    let directory = TemporaryDirectory()
    let port: Int
    private var process: Process?
    private let extraConfiguration: String

    static func executable(_ name: String) -> String? {
        for directory in ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"]
        where FileManager.default.isExecutableFile(atPath: "\(directory)/\(name)") {
            return "\(directory)/\(name)"
        }
        return nil
    }

    init(extraConfiguration: String = "") throws {
        port = try Self.freePort()
        self.extraConfiguration = extraConfiguration
        try start()
    }

    deinit { stop() }

    var address: String { "127.0.0.1:\(port)" }

    func start() throws {
        let mosquitto = try #require(Self.executable("mosquitto"),
                                     "mosquitto is not installed (scripts/test installs it)")
        let configuration = directory.write("mosquitto.conf", """
            listener \(port) 127.0.0.1
            allow_anonymous true
            user root
            persistence false
            log_dest file \(directory.file("mosquitto.log"))
            max_inflight_messages 100
            max_queued_messages 1000000
            \(extraConfiguration)

            """)
        let broker = Process()
        broker.executableURL = URL(fileURLWithPath: mosquitto)
        broker.arguments = ["-c", configuration]
        broker.standardOutput = FileHandle.nullDevice
        broker.standardError = FileHandle.nullDevice
        try broker.run()
        process = broker
        // Ready when it accepts connections.
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if (try? TCPSocket(host: "127.0.0.1", port: port, timeoutMilliseconds: 200)) != nil { return }
            Thread.sleep(forTimeInterval: 0.05)
        }
        Issue.record("mosquitto did not start on port \(port)")
    }

    /// Stops the broker with SIGKILL: children of the test runner inherit its blocked SIGTERM. With persistence off,
    /// every session is lost, as after any broker restart without persistence.
    func stop() {
        guard let process, process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        self.process = nil
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        try #require(bound)
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Publishes each line as one message with `mosquitto_pub -l` (one connection for all lines).
    func publish(lines: [String], topic: String, qos: Int = 1) throws {
        let publisher = try startPublisher(topic: topic, qos: qos)
        try publisher.stdin.fileHandleForWriting.write(contentsOf: Data((lines.joined(separator: "\n") + "\n").utf8))
        try publisher.stdin.fileHandleForWriting.close()
        publisher.process.waitUntilExit()
        #expect(publisher.process.terminationStatus == 0)
    }

    /// Publishes one payload given as bytes (possibly not UTF-8) with `mosquitto_pub -f`.
    func publish(bytes: [UInt8], topic: String) throws {
        let file = directory.write("payload-\(UUID().uuidString)", bytes: bytes)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(Self.executable("mosquitto_pub")))
        process.arguments = ["-h", "127.0.0.1", "-p", String(port), "-q", "1", "-t", topic, "-f", file]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
    }

    /// A running `mosquitto_pub -l` fed through its standard input.
    func startPublisher(topic: String, qos: Int = 1) throws -> (process: Process, stdin: Pipe) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(Self.executable("mosquitto_pub")))
        process.arguments = ["-h", "127.0.0.1", "-p", String(port), "-q", String(qos), "-t", topic, "-l"]
        let input = Pipe()
        process.standardInput = input
        process.standardError = FileHandle.nullDevice
        try process.run()
        return (process, input)
    }
}

/// `thinglog subscribe` as a child process whose stderr is collected while it runs.
final class SubscriberProcess: @unchecked Sendable {
    let process = Process()
    private let lock = NSLock()
    private var collected = ""

    init(arguments: [String], directory: String) throws {
        process.executableURL = URL(fileURLWithPath: try thinglogBinary())
        process.arguments = ["subscribe", "--progress"] + arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        errors.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self, !data.isEmpty else { return }
            self.lock.lock()
            self.collected += String(decoding: data, as: UTF8.self)
            self.lock.unlock()
        }
        try process.run()
    }

    var standardError: String {
        lock.lock()
        defer { lock.unlock() }
        return collected
    }

    /// Waits until stderr holds `text` at least `count` times.
    @discardableResult
    func waitFor(_ text: String, count: Int = 1, timeout: TimeInterval = 15) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if standardError.components(separatedBy: text).count - 1 >= count { return true }
            if !process.isRunning { break }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return standardError.components(separatedBy: text).count - 1 >= count
    }

    /// SIGTERM, then the exit status.
    func terminate() -> Int32 {
        process.terminate()
        process.waitUntilExit()
        Thread.sleep(forTimeInterval: 0.05)
        return process.terminationStatus
    }

    func killHard() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    func waitForExit(timeout: TimeInterval) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        return process.isRunning ? nil : process.terminationStatus
    }
}

/// Polls `condition` until it holds or `timeout` passes.
func eventually(timeout: TimeInterval = 30, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return true }
        Thread.sleep(forTimeInterval: 0.05)
    }
    return try condition()
}
