import FoundationEssentials
import Dispatch
import Glibc
import ThingLogCore
import ThingLogStore

/// `thinglog check`: a one-shot health check for cron and monitoring agents (issue 15): exit 0 when every check
/// passes, 1 when one fails, one `OK`/`FAIL` line per check (or one JSON object).
struct CheckCommand: Command {
    static let name = "check"
    static let abstract = "Check the store's integrity, disk, write-ahead log, silent devices and analyze lag."
    static let options = [
        OptionSpec("--json", nil, "print one JSON object (keys: ok, checks: [{name, ok, detail}], devices)"),
        OptionSpec("--full", nil, "run integrity_check instead of the faster quick_check"),
        OptionSpec("--stale", "DURATION", "a device with no reading for longer fails the check (default 15m)",
                   kind: .duration),
        OptionSpec("--min-free", "MIB", "less free disk fails the check (default 512 MiB)",
                   kind: .integer(0...100_000_000)),
        OptionSpec("--max-lag", "DURATION", "analyze further behind the newest reading fails (default 26h)",
                   kind: .duration),
        CommonOptions.database,
    ]

    let arguments: ParsedArguments

    init(arguments: ParsedArguments, context: CommandContext) throws {
        self.arguments = arguments
    }

    /// One check's outcome.
    struct Outcome {
        var name: String
        var ok: Bool
        var detail: String
    }

    func run(in context: CommandContext) throws -> Int32 {
        let state = try StoreCheck.read(path: context.databasePath(arguments), full: arguments.has("--full"))
        let now = context.clock()
        let stale = arguments.duration("--stale") ?? 15 * 60_000
        let minimumFree = Int64(arguments.integer("--min-free") ?? 512) * 1024 * 1024
        let maximumLag = arguments.duration("--max-lag") ?? 26 * 3_600_000
        var outcomes: [Outcome] = []
        let check = state.isFullCheck ? "integrity_check" : "quick_check"
        outcomes.append(Outcome(name: "integrity", ok: state.integrity == ["ok"],
                                detail: "\(check): " + state.integrity.prefix(3).joined(separator: "; ")))
        outcomes.append(Outcome(name: "schema", ok: true, detail: "version \(state.schemaVersion)"))
        outcomes.append(Outcome(name: "disk", ok: state.freeBytes >= minimumFree,
                                detail: "\(Formatting.bytes(state.freeBytes)) free (store "
                                    + "\(Formatting.bytes(state.databaseBytes)), log "
                                    + "\(Formatting.bytes(state.walBytes)))"))
        let silent = state.devices.filter { ($0.newest ?? .min) < now - stale }
        let listed = silent.prefix(10).map { device in
            "\(device.product)/\(device.name) (last \(device.newest.map(Timestamp.iso8601) ?? "never"))"
        }
        outcomes.append(Outcome(
            name: "devices", ok: silent.isEmpty,
            detail: silent.isEmpty
                ? "\(state.devices.count) devices, each with a reading in the last \(Self.span(stale))"
                : "\(silent.count) of \(state.devices.count) silent for more than \(Self.span(stale)): "
                    + listed.joined(separator: ", ") + (silent.count > 10 ? ", …" : "")))
        if let newest = state.newest {
            if let analyzed = state.analyzedThrough {
                // Both are stored times (years 0001–9999 at most apart): the difference cannot overflow.
                let lag = max(0, newest - analyzed)
                outcomes.append(Outcome(name: "analyze", ok: lag <= maximumLag,
                                        detail: "\(Self.span(lag)) behind the newest reading"))
            } else {
                outcomes.append(Outcome(name: "analyze", ok: false, detail: "never analyzed (thinglog analyze)"))
            }
        }
        let ok = outcomes.allSatisfy(\.ok)
        if arguments.has("--json") {
            let checks = outcomes.map { "{\"name\":\(JSONWriter.quoted($0.name)),\"ok\":\($0.ok),"
                + "\"detail\":\(JSONWriter.quoted($0.detail))}" }
            context.standardOutput.write("{\"ok\":\(ok),\"checks\":[\(checks.joined(separator: ","))],"
                + "\"newest_ts\":\(state.newest.map(String.init) ?? "null"),\"free_bytes\":\(state.freeBytes),"
                + "\"wal_bytes\":\(state.walBytes)}\n")
        } else {
            for outcome in outcomes {
                context.standardOutput.write("\(outcome.ok ? "OK  " : "FAIL") \(outcome.name): \(outcome.detail)\n")
            }
        }
        return ok ? 0 : 1
    }

    /// `15m`, `2h 5m`, `3d 4h`: a span for people.
    static func span(_ milliseconds: Int64) -> String {
        let minutes = milliseconds / 60_000
        if minutes < 60 { return minutes == 0 ? "\(milliseconds / 1000)s" : "\(minutes)m" }
        if minutes < 24 * 60 { return "\(minutes / 60)h" + (minutes % 60 == 0 ? "" : " \(minutes % 60)m") }
        return "\(minutes / 1440)d" + ((minutes % 1440) / 60 == 0 ? "" : " \((minutes % 1440) / 60)h")
    }
}
