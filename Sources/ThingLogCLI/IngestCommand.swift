import Glibc
import ThingLogCore
import ThingLogStore
import ThingLogIngest
import MQTT

/// `thinglog ingest`: recorded reports from files or standard input into the store (SPEC §4).
struct IngestCommand: Command {
    static let name = "ingest"
    static let abstract = "Append recorded property reports from files or standard input to the store."
    static let positionalSynopsis = "[FILE...|-]"
    static let allowsPositionals = true
    static let options = [
        OptionSpec("--format", "FORMAT", "jsonl (default), mosquitto, payload or forward",
                   kind: .choice(IngestFormat.allCases.map(\.rawValue))),
        OptionSpec("--topic", "TOPIC", "topic of every line with --format payload"),
        CommonOptions.database,
        CommonOptions.config,
        CommonOptions.progress,
    ]
    static let discussion = """
    formats:
      jsonl      {"topic": "...", "payload": "..." or {...}, "received_at": epoch-ms or ISO 8601} per line
      mosquitto  lines of `mosquitto_sub -v`: topic, one space, payload (received_at = now)
      payload    one payload per line, topic from --topic (received_at = now)
      forward    one Tencent data-forwarding envelope per line (received_at = its timestamp)
    Without FILE, or with -, standard input is read. Malformed lines are quarantined (see `stats`), never fatal.
    Ends with one summary line on stderr.
    """

    let files: [String]
    let format: IngestFormat
    let topic: String?
    let arguments: ParsedArguments

    init(arguments: ParsedArguments, context: CommandContext) throws {
        format = try arguments.choice("--format", default: IngestFormat.jsonl)
        topic = arguments.value("--topic")
        if format == .payload, topic == nil {
            throw UsageError("--format payload needs --topic TOPIC (e.g. --topic '$thing/up/property/P/dev1')")
        }
        if let topic, format != .payload {
            throw UsageError("--topic \(topic): only --format payload takes a topic")
        }
        files = arguments.positionals.isEmpty ? ["-"] : arguments.positionals
        self.arguments = arguments
    }

    func run(in context: CommandContext) throws -> Int32 {
        let configuration = try context.loadConfiguration(arguments)
        // Open every input before touching the store, so a typo in a file name writes nothing.
        var descriptors: [(name: String, fd: Int32)] = []
        defer { for input in descriptors where input.fd != context.standardInput { close(input.fd) } }
        for file in files {
            if file == "-" {
                descriptors.append(("standard input", context.standardInput))
                continue
            }
            let fd = open(context.resolve(file), O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw RuntimeError("cannot open \(file): \(String(cString: strerror(errno)))") }
            descriptors.append((file, fd))
        }
        let path = context.databasePath(arguments)
        let database = try StoreConnection.openForWriting(path: path)
        let decoder = LineDecoder(format: format, parser: configuration.reportParser, topic: topic,
                                  clock: context.clock)
        let ingester = try Ingester(writer: try StoreWriter(database: database, limits: configuration.limits),
                                decoder: decoder)
        let showsProgress = arguments.has("--progress") || context.isErrorTerminal
        let started = Timestamp.now()
        var lastStatus = started
        for input in descriptors {
            try ingester.ingest(LineReader(fileDescriptor: input.fd)) { summary in
                let now = Timestamp.now()
                guard showsProgress, now - lastStatus >= 1000 else { return }
                lastStatus = now
                context.standardError.write("ingest: \(Self.describe(summary, elapsed: now - started))\n")
            }
        }
        try StoreConnection.checkpoint(path: path)
        context.standardError.write("ingest: \(Self.describe(ingester.summary, elapsed: Timestamp.now() - started))\n")
        return 0
    }

    /// `1200 reports, 7200 readings, 0 duplicates, 2 rejected (not_json 2) in 0.41 s (2927 reports/s)`.
    static func describe(_ summary: AppendSummary, elapsed: Int64) -> String {
        var text = "\(summary.reports) reports, \(summary.readings) readings, \(summary.duplicateReadings) duplicates"
        if summary.duplicateReports > 0 { text += " (\(summary.duplicateReports) whole reports)" }
        text += ", \(summary.rejectCount) rejected"
        if !summary.rejects.isEmpty {
            text += " (" + summary.rejects.sorted { $0.key < $1.key }.map { "\($0.key.rawValue) \($0.value)" }
                .joined(separator: ", ") + ")"
        }
        if !summary.dropped.isEmpty {
            text += "; readings left out: " + summary.dropped.sorted { $0.key < $1.key }
                .map { "\($0.key.rawValue) \($0.value)" }.joined(separator: ", ")
        }
        let seconds = Double(max(elapsed, 1)) / 1000
        let rate = Int(Double(summary.messageCount) / seconds)
        text += " in \(Formatting.fixed(seconds, digits: 2)) s (\(rate) messages/s)"
        return text
    }
}
