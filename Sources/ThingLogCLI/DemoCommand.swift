import FoundationEssentials
import Dispatch
import Glibc
import ThingLogCore
import ThingLogStore
import ThingLogReport
import MQTT

/// `thinglog demo`: the whole pipeline from nothing, without a broker (SPEC §4): a simulated day of several devices,
/// ingested, calibrated on its clean-air start, analyzed and reported. Runs the same commands a user would.
struct DemoCommand: Command {
    static let name = "demo"
    static let abstract = "Simulate a day of five devices, then ingest, calibrate, analyze and report it."
    static let options = [
        OptionSpec("--dir", "DIR", "where the demo store and report go (default thinglog-demo)"),
        OptionSpec("--tz", "TZ", "time zone of the simulated day and the report (default $TZ, else UTC)"),
    ]
    static let discussion = """
    Creates DIR/thinglog.db (replacing an earlier demo store there), simulates yesterday for dev1…dev5 with clean
    air for the first two hours and a few gas events, calibrates every MQ sensor on those two hours, analyzes, and
    writes DIR/exports/YYYY-MM-DD/ with report.html. Every step is a thinglog command you can run yourself.
    """

    static let devices = 5
    static let sensors = ["MQ2", "MQ135", "MQ4", "MQ7"]

    let arguments: ParsedArguments

    init(arguments: ParsedArguments, context: CommandContext) throws {
        self.arguments = arguments
        _ = try context.timeZone(arguments)
    }

    func run(in context: CommandContext) throws -> Int32 {
        let directory = context.resolve(arguments.value("--dir") ?? "thinglog-demo")
        let timeZone = try context.timeZone(arguments)
        let day = ReportDay.yesterday(now: context.clock(), timeZone: timeZone)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let db = Path.join(directory, "thinglog.db")
        let input = Path.join(directory, "simulated-\(day.name).jsonl")
        for suffix in ["", "-wal", "-shm", ".analyze-lock"] { try? FileManager.default.removeItem(atPath: db + suffix) }

        var quiet = context
        quiet.standardOutput = BufferSink()
        func step(_ arguments: [String], in stepContext: CommandContext) throws {
            let status = CLI.run(arguments, context: stepContext)
            guard status == 0 else { throw RuntimeError("demo: `thinglog \(arguments.joined(separator: " "))` failed") }
        }
        context.standardError.write("demo: simulating \(day.name) (\(day.zoneName)) for \(Self.devices) devices\n")
        try step(["simulate", "--out", input, "--devices", String(Self.devices), "--duration", "86400", "--seed", "7",
                  "--start", String(day.start)], in: context)
        try step(["ingest", input, "--db", db], in: context)
        let cleanAirEnd = day.start + 2 * 3_600_000
        for device in 1...Self.devices {
            for sensor in Self.sensors {
                try step(["calibrate", "--device", "dev\(device)", "--sensor", sensor, "--from", String(day.start),
                          "--to", String(cleanAirEnd), "--save", "--db", db], in: quiet)
            }
        }
        context.standardError.write("demo: calibrated \(Self.devices * Self.sensors.count) sensors on the clean-air "
            + "first two hours (thinglog calibrate --save)\n")
        var report = context
        let reportOutput = BufferSink()
        report.standardOutput = reportOutput
        try step(["report", "--date", day.name, "--tz", day.zoneName, "--out",
                  Path.join(directory, "exports"), "--db", db], in: report)
        let page = reportOutput.text.trimmedOfBlanks
        let folder = Path.parent(page)
        context.standardOutput.write("""

            report:  \(page)
            files:   \(folder)/summary.csv, summary.json, alarms.csv, alarms.json
            store:   \(db)
            try:     thinglog query latest --db \(db)
                     thinglog export alarms --db \(db)
                     thinglog export rolling --device dev1 --metric MQ7.CO --window 15m --db \(db)

            """)
        return 0
    }
}
