import ThingLogCore
import ThingLogStore
import MQTT

/// One subcommand: its name, a one-line abstract, its options, and how it runs (argument-parser's shape).
public protocol Command {
    static var name: String { get }
    static var abstract: String { get }
    /// What comes before the options in the synopsis (`[FILE...|-]`, `NAME|FILE.sql`); empty when nothing.
    static var positionalSynopsis: String { get }
    static var options: [OptionSpec] { get }
    static var allowsPositionals: Bool { get }
    /// Extra help text after the options (formats, examples).
    static var discussion: String { get }

    /// Builds the command from parsed arguments; throws `UsageError` for bad values.
    init(arguments: ParsedArguments, context: CommandContext) throws
    /// Runs the command; returns the exit status.
    func run(in context: CommandContext) throws -> Int32
}

extension Command {
    public static var allowsPositionals: Bool { false }
    public static var discussion: String { "" }
    public static var positionalSynopsis: String { "" }

    /// The synopsis after `thinglog NAME`, made from the options, so it cannot drift from what is parsed:
    /// `--device D` when required, `[--from T]` when optional, `[--metric M]...` when repeatable.
    public static var synopsis: String {
        let flags = options.map { option in
            let flag = option.name + (option.valueName.map { " " + $0 } ?? "")
            return option.isRequired ? flag : "[\(flag)]" + (option.isRepeatable ? "..." : "")
        }
        return ([positionalSynopsis].filter { !$0.isEmpty } + flags).joined(separator: " ")
    }

    /// Full help: synopsis, abstract, every flag.
    public static var help: String {
        var text = "usage: thinglog \(name) \(synopsis)\n\n\(abstract)\n"
        let all = options + [OptionSpec("--help", nil, "show this help")]
        text += "\noptions:\n"
        let labels = all.map { $0.name + ($0.valueName.map { " " + $0 } ?? "") }
        let width = min(34, (labels.map(\.count).max() ?? 0) + 2)
        for (label, option) in zip(labels, all) {
            let padding = label.count < width ? String(repeating: " ", count: width - label.count) : "\n" +
                String(repeating: " ", count: width + 2)
            text += "  \(label)\(padding)\(option.help)\(option.isRepeatable ? " (repeatable)" : "")\n"
        }
        if !discussion.isEmpty { text += "\n" + discussion + "\n" }
        return text
    }
}

/// Options several commands share (SPEC §3).
enum CommonOptions {
    static let database = OptionSpec("--db", "PATH", "store file (default $THINGLOG_DB, else ./thinglog.db)")
    static let config = OptionSpec("--config", "PATH",
                                   "configuration (default $THINGLOG_CONFIG, else ./thinglog.json, else built-in)")
    static let progress = OptionSpec("--progress", nil, "print status lines on stderr even when it is not a terminal")
    static let username = OptionSpec("--username", "U", "user name for the broker")
    static let passwordFile = OptionSpec("--password-file", "F", "file holding the broker password (first line)")

    /// How `subscribe` and `receive` make a writer on the store at `path` again (after the file was replaced under
    /// the running one).
    static func writerFactory(path: String, durability: StoreConnection.Durability,
                              limits: IngestLimits) -> @Sendable () throws -> StoreWriter {
        {
            let database = try StoreConnection.openForWriting(path: path, durability: durability, cacheMebibytes: 4)
            return try StoreWriter(database: database, limits: limits, minimumCacheMebibytes: 4)
        }
    }
}

extension CommandContext {
    /// The store path for `--db` (SPEC §3).
    func databasePath(_ arguments: ParsedArguments) -> String {
        StoreConnection.path(explicit: arguments.value("--db").map(resolve), environment: environment,
                             currentDirectory: currentDirectory)
    }

    /// The configuration for `--config` (SPEC §3, §7).
    func loadConfiguration(_ arguments: ParsedArguments) throws -> Configuration {
        let path = ConfigurationLoader.locate(explicitPath: arguments.value("--config").map(resolve),
                                              environment: environment, currentDirectory: currentDirectory)
        return try ConfigurationLoader.load(path: path.map(resolve), currentDirectory: currentDirectory)
    }
}
