import ThingLogCore
import ThingLogStore

/// `thinglog version` (and `thinglog --version`): what ran, for bug reports.
struct VersionCommand: Command {
    static let name = "version"
    static let abstract = "Print the version, the commit and build date of a release build, and the SQLite version."
    static let options: [OptionSpec] = []

    init(arguments: ParsedArguments, context: CommandContext) throws {}

    static var text: String {
        "thinglog \(BuildInfo.description), SQLite \(StoreConnection.sqliteVersion)\n"
    }

    func run(in context: CommandContext) throws -> Int32 {
        context.standardOutput.write(Self.text)
        return 0
    }
}
