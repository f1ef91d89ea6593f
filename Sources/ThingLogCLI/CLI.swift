import ThingLogCore
import ThingLogStore
import MQTT

/// The command tree: finds the subcommand, parses its flags, runs it and maps errors to exit statuses
/// (SPEC §3: 0 ok, 1 runtime failure, 2 usage error; messages as `thinglog: error: …`).
public enum CLI {
    static var commands: [any Command.Type] {
        [SubscribeCommand.self, ReceiveCommand.self, IngestCommand.self, AnalyzeCommand.self, CalibrateCommand.self,
         StatsCommand.self, ExportCommand.self, QueryCommand.self, SimulateCommand.self,
         CredentialsCommand.self, ReportCommand.self, DemoCommand.self, BackupCommand.self, CheckCommand.self,
         VersionCommand.self]
    }

    /// Runs `arguments` (without the program name) and returns the exit status.
    public static func run(_ arguments: [String], context: CommandContext) -> Int32 {
        guard let first = arguments.first else {
            context.standardError.write(overview)
            return 2
        }
        if first == "help" || first == "--help" || first == "-h" {
            if arguments.count > 1 {
                guard let command = command(named: arguments[1]) else {
                    return usageFailure(unknownCommand(arguments[1]), context: context)
                }
                context.standardOutput.write(command.help)
            } else {
                context.standardOutput.write(overview)
            }
            return 0
        }
        if first == "--version" {
            context.standardOutput.write(VersionCommand.text)
            return 0
        }
        guard let commandType = command(named: first) else {
            return usageFailure(unknownCommand(first), context: context)
        }
        let rest = Array(arguments.dropFirst())
        if rest.contains("--help") || rest.contains("-h") {
            context.standardOutput.write(commandType.help)
            return 0
        }
        do {
            let parsed = try ArgumentParser.parse(rest, options: commandType.options,
                                                  allowsPositionals: commandType.allowsPositionals)
            let command = try commandType.init(arguments: parsed, context: context)
            return try command.run(in: context)
        } catch let error as UsageError {
            return usageFailure(error, context: context, command: commandType.name)
        } catch let error as ConfigError {
            context.standardError.write("thinglog: error: \(error.message)\n")
            return 2
        } catch {
            context.standardError.write("thinglog: error: \(error)\n")
            return 1
        }
    }

    static func command(named name: String) -> (any Command.Type)? {
        commands.first { $0.name == name }
    }

    static func unknownCommand(_ name: String) -> UsageError {
        var message = "unknown command \"\(name)\""
        if let suggestion = ArgumentParser.closest(to: name, among: commands.map { $0.name }) {
            message += "; did you mean \(suggestion)?"
        }
        return UsageError(message + " (see thinglog help)")
    }

    static func usageFailure(_ error: UsageError, context: CommandContext, command: String? = nil) -> Int32 {
        let hint = command.map { " (see thinglog \($0) --help)" } ?? ""
        context.standardError.write("thinglog: error: \(error.message)\(hint)\n")
        return 2
    }

    static var overview: String {
        var text = """
        thinglog: log and analyze Tencent IoT Explorer environment-sensor reports in an append-only SQLite store.

        usage: thinglog COMMAND [options]

        commands:

        """
        for command in commands {
            text += "  " + command.name.padded(to: 12) + command.abstract + "\n"
        }
        text += "  help        Show this overview, or `thinglog help COMMAND` for a command's flags.\n"
        text += "\nEvery command takes --help. Store: --db PATH, else $THINGLOG_DB, else ./thinglog.db.\n"
        return text
    }
}
