import FoundationEssentials
import Dispatch
import Glibc
import ThingLogCore
import ThingLogStore

/// `thinglog backup DEST`: a consistent, verified copy of the store while writers run (issue 15).
struct BackupCommand: Command {
    static let name = "backup"
    static let abstract = "Copy the store consistently while it is written to, verify the copy, then put it in place."
    static let positionalSynopsis = "DEST"
    static let allowsPositionals = true
    static let options = [
        OptionSpec("--keep", "N", "with DEST a directory: keep only the newest N backups there (a nightly cron)",
                   kind: .integer(1...10_000)),
        CommonOptions.database,
    ]
    static let discussion = """
    DEST is a file, or a directory where the copy is named thinglog-YYYYMMDDTHHMMSSZ.db. The copy is one read
    snapshot (subscribe, receive and ingest go on writing), a single self-contained file, checked with
    integrity_check and row counts, synced, and renamed into place: it is either complete and verified or absent.
    Restore: stop the writers, copy the backup over the store (removing any -wal and -shm beside it), start again.
    """

    let arguments: ParsedArguments

    init(arguments: ParsedArguments, context: CommandContext) throws {
        self.arguments = arguments
        guard arguments.positionals.count == 1 else { throw UsageError("backup needs one DEST (a file or directory)") }
    }

    func run(in context: CommandContext) throws -> Int32 {
        let result = try StoreBackup.run(source: context.databasePath(arguments),
                                         destination: context.resolve(arguments.positionals[0]),
                                         keep: arguments.integer("--keep"), now: context.clock())
        context.standardOutput.write(result.path + "\n")
        context.standardError.write("backup: \(result.reports) reports, \(result.readings) readings, "
            + "\(Formatting.bytes(result.bytes)) in \(Formatting.fixed(result.seconds, digits: 2)) s, verified"
            + (result.removed.isEmpty ? "" : "; removed \(result.removed.count) older") + "\n")
        return 0
    }
}
