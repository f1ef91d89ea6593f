import ThingLogCore
import ThingLogStore
import ThingLogAnalysis
import ThingLogExport
import MQTT

/// `thinglog export`: readings, ppm estimates, alarms and summaries as CSV, JSON or JSON Lines (SPEC §4).
struct ExportCommand: Command {
    static let name = "export"
    static let abstract = "Write readings, rolling windows, ppm estimates, alarms, summaries, alarm health or the raw "
        + "archive as CSV, JSON or JSONL."
    static let positionalSynopsis = "readings|rolling|ppm|alarms|summary|alarm-health|raw"
    static let allowsPositionals = true
    static let options = [
        OptionSpec("--from", "T", "range start (ISO 8601, YYYY-MM-DD in --tz, or epoch ms); default: open",
                   kind: .time),
        OptionSpec("--to", "T", "range end, exclusive; default: open", kind: .time),
        OptionSpec("--device", "D", "only this device: NAME, or PRODUCT/NAME when the name is in several products",
                   repeatable: true),
        OptionSpec("--metric", "M", "only this metric (readings, summary) or SENSOR.GAS series (ppm, summary)",
                   repeatable: true),
        OptionSpec("--window", "W", "rolling: only this window (a configured one, twa8h or stel15m)", repeatable: true),
        OptionSpec("--format", "FORMAT", "csv (default; raw: jsonl), json or jsonl",
                   kind: .choice(ExportFormat.allCases.map(\.rawValue))),
        OptionSpec("--out", "FILE", "output file, written atomically (default -: standard output)"),
        OptionSpec("--tz", "TZ", "IANA time zone for calendar dates (default $TZ, else UTC)"),
        CommonOptions.config,
        CommonOptions.database,
    ]
    static let discussion = """
    Columns: readings: product, device, metric, ts, value · rolling: product, device, metric, window, ts, mean, min,
    max, count · ppm: product, device, sensor, gas, ts, ppm, rs_r0, quality · alarms: id, product, device, rule,
    severity, metric, started_at, fired_at, ended_at, duration_s, peak, peak_at, threshold · summary: product,
    device, metric, count, min, max, mean, stddev, first_ts, last_ts. Times are ISO 8601 UTC with ms.
    ppm and alarms come from the last `thinglog analyze`. rolling is computed as it streams: every configured window
    of every raw metric and usable ppm series, plus twa8h and stel15m (mean = time-weighted average) of ppm series.
    summary and rolling use usable ppm estimates (quality ok or out_of_range); ppm lists every estimate.
    raw: topic, received_at, payload: every stored report as received (payload byte for byte, --from/--to on the
    receive time), in arrival order; as jsonl it is what `thinglog ingest` reads back.
    """

    let arguments: ParsedArguments
    let kind: ExportKind
    let format: ExportFormat
    let filter: ExportFilter
    let deviceReferences: [String]

    init(arguments: ParsedArguments, context: CommandContext) throws {
        self.arguments = arguments
        guard arguments.positionals.count == 1 else {
            throw UsageError("export needs one kind: " + ExportKind.allCases.map(\.rawValue).joined(separator: ", "))
        }
        let name = arguments.positionals[0]
        guard let kind = ExportKind(rawValue: name) else {
            throw UsageError("export \(name): unknown kind (expected "
                             + ExportKind.allCases.map(\.rawValue).joined(separator: "|") + ")")
        }
        self.kind = kind
        format = try arguments.choice("--format", default: kind == .raw ? ExportFormat.jsonl : ExportFormat.csv)
        if kind == .raw, let flag = ["--metric", "--window"].first(where: { !arguments.values($0).isEmpty }) {
            throw UsageError("\(flag) does not apply to export raw (it selects by --device, --from and --to)")
        }
        let timeZone = try context.timeZone(arguments)
        filter = ExportFilter(from: try context.timeArgument(arguments, "--from", timeZone: timeZone),
                              to: try context.timeArgument(arguments, "--to", timeZone: timeZone),
                              metrics: arguments.values("--metric"),
                              windows: arguments.values("--window"))
        deviceReferences = arguments.values("--device")
        if let from = filter.from, let to = filter.to, from >= to { throw UsageError("--from must be before --to") }
    }

    func run(in context: CommandContext) throws -> Int32 {
        let store = try StoreReader.open(path: context.databasePath(arguments))
        var filter = filter
        if !deviceReferences.isEmpty {
            do {
                filter.devices = try DeviceDirectory.ids(deviceReferences, in: store.database)
            } catch let ambiguous as DeviceDirectory.AmbiguousName {
                throw UsageError("--device \(ambiguous)")
            }
        }
        let output = try OutputFile(path: arguments.value("--out") ?? "-", context: context)
        var windows: [RollingWindow] = []
        if kind == .rolling {
            windows = try context.loadConfiguration(arguments).windows
            let known = windows.map(\.name) + SeriesWindow.exposures.map(\.name)
            if let unknown = filter.windows.first(where: { !known.contains($0) }) {
                throw UsageError("--window \(unknown): not a configured window (expected one of "
                                 + known.joined(separator: ", ") + ")")
            }
        }
        let document = ExportDocument(kind: kind, format: format, filter: filter, generatedAt: context.clock())
        let rowCount = try document.write(from: Exporter(store: store, windows: windows)) { bytes in
            try output.write(bytes: &bytes)
        }
        try output.commit()
        if let path = arguments.value("--out"), path != "-" {
            context.standardError.write("export: \(rowCount) \(kind.rawValue) rows to \(path)\n")
        }
        return 0
    }
}
