import Glibc
import ThingLogCore
import MQTT

/// Where text goes: stdout, stderr, or a buffer in tests.
public protocol TextSink: AnyObject {
    func write(_ text: String)
}

/// A sink over a file descriptor, written through at once (status lines must not wait in a buffer).
public final class FileDescriptorSink: TextSink {
    public let fileDescriptor: Int32

    public init(fileDescriptor: Int32) { self.fileDescriptor = fileDescriptor }

    public func write(_ text: String) {
        var text = text
        text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(fileDescriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return
                }
                offset += written
            }
        }
    }

    public var isTerminal: Bool { isatty(fileDescriptor) != 0 }
}

/// Collects text in memory (tests).
public final class BufferSink: TextSink {
    public private(set) var text = ""
    public init() {}
    public func write(_ text: String) { self.text += text }
}

/// Everything a command reads from its surroundings, so tests can run commands in-process.
public struct CommandContext {
    public var standardOutput: TextSink
    public var standardError: TextSink
    public var standardInput: Int32
    public var environment: [String: String]
    public var currentDirectory: String
    public var isErrorTerminal: Bool
    public var clock: @Sendable () -> Int64

    public init(standardOutput: TextSink, standardError: TextSink, standardInput: Int32 = 0,
                environment: [String: String], currentDirectory: String, isErrorTerminal: Bool = false,
                clock: @escaping @Sendable () -> Int64 = Timestamp.now) {
        self.standardOutput = standardOutput
        self.standardError = standardError
        self.standardInput = standardInput
        self.environment = environment
        self.currentDirectory = currentDirectory
        self.isErrorTerminal = isErrorTerminal
        self.clock = clock
    }

    /// A relative path taken against the context's current directory.
    public func resolve(_ path: String) -> String {
        path.hasPrefix("/") ? path : currentDirectory + "/" + path
    }

    /// Prints `thinglog: warning: …` on stderr.
    public func warn(_ message: String) {
        standardError.write("thinglog: warning: \(message)\n")
    }
}
