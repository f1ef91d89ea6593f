import ThingLogCore
import ThingLogStore
import ThingLogReport
import MQTT

/// `thinglog report`: the nightly job — analyze, then the day's folder of summaries, alarms and report.html (SPEC §4).
struct ReportCommand: Command {
    static let name = "report"
    static let abstract = "Analyze, then write one local day's summary, alarms and self-contained report.html."
    static let options = [
        OptionSpec("--date", "YYYY-MM-DD", "the local day to report (default: yesterday in --tz)"),
        OptionSpec("--tz", "TZ", "IANA time zone of the day and of the page's clock times (default $TZ, else UTC)"),
        OptionSpec("--out", "DIR", "where the YYYY-MM-DD folder goes (default exports)"),
        CommonOptions.config,
        CommonOptions.database,
    ]
    static let discussion = """
    Writes DIR/YYYY-MM-DD/ with summary.csv, summary.json, alarms.csv, alarms.json (the export columns for that
    day) and report.html: per device, charts of the raw metrics and ppm estimates with rolling means, alarm periods
    shaded and thresholds drawn, summary and alarm tables, data coverage. No scripts, no network: it opens offline
    and prints. The folder appears whole or not at all; a rerun replaces it, identical except generated_at.
    Cron example: 10 0 * * *  cd /srv/thinglog && thinglog report --tz Europe/Berlin
    """

    let arguments: ParsedArguments
    let day: ReportDay

    init(arguments: ParsedArguments, context: CommandContext) throws {
        self.arguments = arguments
        let timeZone = try context.timeZone(arguments)
        if let text = arguments.value("--date") {
            guard let day = ReportDay(text, timeZone: timeZone) else {
                throw UsageError("--date \(text): expected a calendar date YYYY-MM-DD")
            }
            self.day = day
        } else {
            day = ReportDay.yesterday(now: context.clock(), timeZone: timeZone)
        }
    }

    func run(in context: CommandContext) throws -> Int32 {
        let configuration = try context.loadConfiguration(arguments)
        let writer = ReportWriter(databasePath: context.databasePath(arguments), configuration: configuration, day: day,
                                  outputDirectory: context.resolve(arguments.value("--out") ?? "exports"),
                                  generatedAt: context.clock())
        let result = try writer.run()
        context.standardError.write("report: \(day.name) (\(day.zoneName)): \(result.devices) devices, "
            + "\(result.alarms) alarms; analyzed \(result.analysis.frames) new reports\n")
        context.standardOutput.write(result.folder + "/report.html\n")
        return 0
    }
}
