import ThingLogCore
import ThingLogStore
import MQTT

/// `thinglog stats`: what the store holds (SPEC §4).
struct StatsCommand: Command {
    static let name = "stats"
    static let abstract = "Show devices, metrics, reports, readings, duplicates, rejects, time span and size."
    static let options = [
        OptionSpec("--json", nil, "print one JSON object (keys: devices, metrics, reports, readings, duplicates, "
                   + "rejects, first_ts, last_ts, db_bytes, bytes_per_reading)"),
        CommonOptions.database,
    ]

    let arguments: ParsedArguments

    init(arguments: ParsedArguments, context: CommandContext) throws {
        self.arguments = arguments
    }

    func run(in context: CommandContext) throws -> Int32 {
        let path = context.databasePath(arguments)
        let store = try StoreReader.open(path: path)
        let stats = try StoreStatistics.read(from: store.database)
        if arguments.has("--json") {
            context.standardOutput.write(stats.json + "\n")
            return 0
        }
        func counts(_ counts: [String: Int], unit: String = "") -> String {
            counts.isEmpty ? "0" : "\(counts.values.reduce(0, +))\(unit) (" + counts.sorted { $0.key < $1.key }
                .map { "\($0.key) \($0.value)" }.joined(separator: ", ") + ")"
        }
        let rows: [(String, String)] = [
            ("store", path),
            ("devices", String(stats.devices)),
            ("metrics", String(stats.metrics)),
            ("reports", String(stats.reports)),
            ("readings", String(stats.readings)),
            ("duplicates", "\(stats.duplicates) readings (\(stats.duplicateReports) whole reports)"),
            ("rejects", counts(stats.rejects)),
            ("left out", counts(stats.dropped, unit: " readings")),
            ("first reading", stats.firstTS.map(Timestamp.iso8601) ?? "none"),
            ("last reading", stats.lastTS.map(Timestamp.iso8601) ?? "none"),
            ("file size", Formatting.bytes(stats.databaseBytes) + " (with WAL)"),
            ("bytes/reading", stats.bytesPerReading.map { Formatting.fixed($0, digits: 1) } ?? "n/a"),
            ("template checks", "\(stats.outOfRangeReadings) out of range, "
                + "\(stats.unknownPropertyReadings) of unknown properties"),
            ("analyzed through",
             try store.analyzedThrough().map(Timestamp.iso8601) ?? "not analyzed yet (thinglog analyze)"),
        ]
        for (label, value) in rows {
            context.standardOutput.write(label.padded(to: 17) + value + "\n")
        }
        return 0
    }
}
