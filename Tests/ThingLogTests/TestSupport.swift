import Foundation
import Testing
@testable import ThingLogCore
@testable import ThingLogStore
@testable import ThingLogCLI

/// A temporary directory removed when the value is released.
final class TemporaryDirectory {
    let path: String

    init() {
        let template = NSTemporaryDirectory() + "thinglog-test-XXXXXX"
        var bytes = Array(template.utf8CString)
        let created = bytes.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        path = created.map { String(cString: $0) } ?? template
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { path + "/" + name }

    @discardableResult
    func write(_ name: String, _ text: String) -> String {
        let target = file(name)
        FileManager.default.createFile(atPath: target, contents: Data(text.utf8))
        return target
    }

    @discardableResult
    func write(_ name: String, bytes: [UInt8]) -> String {
        let target = file(name)
        FileManager.default.createFile(atPath: target, contents: Data(bytes))
        return target
    }
}

/// The outcome of running a command in-process or as a child process.
struct CommandResult {
    var status: Int32
    var standardOutput: String
    var standardError: String
}

/// Runs the CLI in-process with captured output, in `directory`, with an optional file as standard input.
func runCLI(_ arguments: [String], in directory: String, standardInput: String? = nil,
            environment: [String: String] = [:], clock: (@Sendable () -> Int64)? = nil) -> CommandResult {
    let output = BufferSink(), error = BufferSink()
    var inputDescriptor: Int32 = -1
    if let standardInput { inputDescriptor = open(standardInput, O_RDONLY) }
    defer { if inputDescriptor >= 0 { close(inputDescriptor) } }
    var context = CommandContext(standardOutput: output, standardError: error, standardInput: inputDescriptor,
                                 environment: environment, currentDirectory: directory)
    if let clock { context.clock = clock }
    let status = CLI.run(arguments, context: context)
    return CommandResult(status: status, standardOutput: output.text, standardError: error.text)
}

/// The built `thinglog` binary next to the test bundle.
func thinglogBinary() throws -> String {
    let executable = try #require(try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
    var directory = (executable as NSString).deletingLastPathComponent
    // The test bundle may sit inside a `.xctest` directory.
    while !FileManager.default.isExecutableFile(atPath: directory + "/thinglog"), directory.count > 1 {
        directory = (directory as NSString).deletingLastPathComponent
    }
    let binary = directory + "/thinglog"
    try #require(FileManager.default.isExecutableFile(atPath: binary),
                 "build the thinglog binary first (swift build), it was not found near \(executable)")
    return binary
}

/// Runs the built binary as a child process and waits for it.
func runBinary(_ arguments: [String], in directory: String, standardInput: String? = nil) throws -> CommandResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: try thinglogBinary())
    process.arguments = arguments
    process.currentDirectoryURL = URL(fileURLWithPath: directory)
    let output = Pipe(), error = Pipe()
    process.standardOutput = output
    process.standardError = error
    if let standardInput { process.standardInput = FileHandle(forReadingAtPath: standardInput) }
    try process.run()
    let outData = output.fileHandleForReading.readDataToEndOfFile()
    let errData = error.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return CommandResult(status: process.terminationStatus, standardOutput: String(decoding: outData, as: UTF8.self),
                         standardError: String(decoding: errData, as: UTF8.self))
}

/// A deterministic generator of SPEC-shaped report lines, independent of the code under test.
struct ReportFixture {
    var devices = 3
    var reportsPerDevice = 50
    var startMilliseconds: Int64 = 1_764_115_200_000
    var intervalMilliseconds: Int64 = 10_000
    var withTimestamp = true
    var product = "CS0SLTKSYA"

    struct Report {
        var device: String
        var topic: String
        var receivedAt: Int64
        var payload: String
        var values: [(String, Int)]
    }

    /// Reports in round-robin device order; values follow a fixed formula.
    var reports: [Report] {
        var result: [Report] = []
        for index in 0..<reportsPerDevice {
            for device in 1...devices {
                let ts = startMilliseconds + Int64(index) * intervalMilliseconds + Int64(device) * 137
                let values = [("MQ2", 100 + (index * 7 + device) % 50), ("MQ135", 90 + (index * 3) % 20),
                              ("MQ4", 80 + device), ("MQ7", 60 + index % 13), ("DHT11_T", 20 + index % 5),
                              ("DHT11_H", 50 + device)]
                let params = values.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",")
                let stamp = withTimestamp ? ",\"timestamp\":\(ts)" : ""
                let payload = "{\"method\":\"report\",\"clientToken\":\"123\",\"params\":{\(params)}\(stamp)}"
                result.append(Report(device: "dev\(device)", topic: "$thing/up/property/\(product)/dev\(device)",
                                     receivedAt: ts + 40, payload: payload, values: values))
            }
        }
        return result
    }

    func jsonlLines() -> [String] {
        reports.map { report in
            "{\"topic\":\(JSONWriter.quoted(report.topic)),\"received_at\":\(report.receivedAt),"
                + "\"payload\":\(JSONWriter.quoted(report.payload))}"
        }
    }
}

extension Database {
    /// An integer from a one-value query, for assertions.
    func integer(_ sql: String) throws -> Int64 {
        try #require(try scalar(sql)?.int64Value)
    }
}
