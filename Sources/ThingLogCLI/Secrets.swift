import FoundationEssentials
import Dispatch
import Glibc
import MQTT
import ThingLogCore
import ThingLogExport
import ThingLogStore

/// Reading secrets (passwords, PSKs) from files or the environment, never from logs (SPEC §3).
enum Secrets {
    /// The first line of a file, without its line end.
    static func read(file: String, flag: String, context: CommandContext) throws -> String {
        guard let data = FileManager.default.contents(atPath: context.resolve(file)) else {
            throw RuntimeError("\(flag): cannot read \(file)")
        }
        let text = String(decoding: data, as: UTF8.self)
        var line = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        while line.hasPrefix("\r") { line = line.dropFirst() }
        while line.hasSuffix("\r") { line = line.dropLast() }
        return String(line)
    }

    /// The broker password from `--password-file`, as bytes.
    static func password(_ arguments: ParsedArguments, context: CommandContext) throws -> [UInt8]? {
        try arguments.value("--password-file").map {
            Array(try read(file: $0, flag: "--password-file", context: context).utf8)
        }
    }

    /// A PSK from `--psk-file`, `--psk-env` or (with a warning) `--psk`.
    static func psk(_ arguments: ParsedArguments, context: CommandContext) throws -> String {
        let sources = ["--psk-file", "--psk-env", "--psk"].filter { arguments.has($0) }
        guard sources.count == 1 else {
            throw UsageError(sources.isEmpty ? "the device PSK is needed: --psk-file F, --psk-env VAR or --psk B64"
                                             : "give the PSK once: \(sources.joined(separator: ", ")) conflict")
        }
        if let file = arguments.value("--psk-file") {
            return try read(file: file, flag: "--psk-file", context: context)
        }
        if let variable = arguments.value("--psk-env") {
            guard let value = context.environment[variable], !value.isEmpty else {
                throw UsageError("--psk-env \(variable): the variable is not set")
            }
            return value
        }
        context.warn("--psk puts the device secret in argv, visible to other users; prefer --psk-file or --psk-env")
        return arguments.value("--psk") ?? ""
    }
}

/// `HOST[:PORT]` and `[IPv6]:PORT`.
struct BrokerAddress: Equatable {
    var host: String
    var port: Int

    init(_ text: String, flag: String = "--broker", defaultPort: Int = 1883) throws(UsageError) {
        var host = text
        var port = defaultPort
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            if rest.hasPrefix(":") {
                guard let value = Int(rest.dropFirst()) else { throw Self.bad(text, flag) }
                port = value
            } else if !rest.isEmpty {
                throw Self.bad(text, flag)
            }
        } else if let colon = text.lastIndex(of: ":"), text.filter({ $0 == ":" }).count == 1 {
            host = String(text[..<colon])
            guard let value = Int(text[text.index(after: colon)...]) else { throw Self.bad(text, flag) }
            port = value
        }
        guard !host.isEmpty, (1...65_535).contains(port) else { throw Self.bad(text, flag) }
        self.host = host
        self.port = port
    }

    private static func bad(_ text: String, _ flag: String) -> UsageError {
        UsageError("\(flag) \(text): expected HOST[:PORT], e.g. 127.0.0.1:1883")
    }
}

extension ParsedArguments {
    /// `--sync full|normal` (default full): what a commit must survive before it is acknowledged.
    func durability() throws(UsageError) -> StoreConnection.Durability {
        switch value("--sync") ?? "full" {
        case "full": return .powerLoss
        case "normal": return .processCrash
        case let other: throw UsageError("--sync \(other): expected full or normal")
        }
    }

    /// `--qos 0|1` (default 1): Tencent's broker and thinglog use no QoS 2.
    func qos() throws(UsageError) -> QoS {
        switch value("--qos") ?? "1" {
        case "0": return .atMostOnce
        case "1": return .atLeastOnce
        case let other: throw UsageError("--qos \(other): expected 0 or 1")
        }
    }
}
