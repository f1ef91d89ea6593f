/// `thinglog analyze`: ppm estimates and alarm events into the derived tables (SPEC §4, §6).
struct AnalyzeCommand: Command {
    static let name = "analyze"
    static let abstract = "Compute ppm estimates and alarm events from the stored history (ppm_v, alarms_v)."
    static let synopsis = "[--full] [--config F] [--db PATH]"
    static let options = [
        OptionSpec("--full", nil, "recompute from scratch (every run does so for now: incremental runs are not built yet)"),
        CommonOptions.config,
        CommonOptions.database,
        CommonOptions.progress,
    ]
    static let discussion = """
    Results: the views ppm_v(device, sensor, gas, ts, ppm, rs_r0, quality) and alarms_v(id, device, rule, severity,
    metric, started_at, fired_at, ended_at, duration_s, peak, peak_at, threshold). R0 per sample is the latest saved
    calibration effective at or before it (thinglog calibrate --save), else the configuration's r0_ohms.
    MQ sensors are not certified gas detectors: every ppm is an estimate.
    """

    let arguments: ParsedArguments

    init(arguments: ParsedArguments, context: CommandContext) throws {
        self.arguments = arguments
    }

    func run(in context: CommandContext) throws -> Int32 {
        let configuration = try context.loadConfiguration(arguments)
        let database = try StoreConnection.openForWriting(path: context.databasePath(arguments))
        let started = Timestamp.now()
        let summary = try Analyzer(database: database, configuration: configuration).run()
        let seconds = Double(max(1, Timestamp.now() - started)) / 1000
        context.standardError.write("analyze: \(summary.devices) devices, \(summary.ppmEstimates) ppm estimates, "
            + "\(summary.alarms) alarms (\(summary.openAlarms) open) in \(Formatting.fixed(seconds, digits: 2)) s\n")
        return 0
    }
}
