import FoundationEssentials
import Dispatch
import Glibc
import ThingLogCLI

signal(SIGPIPE, SIG_IGN)
let context = CommandContext(
    standardOutput: FileDescriptorSink(fileDescriptor: 1),
    standardError: FileDescriptorSink(fileDescriptor: 2),
    environment: ProcessInfo.processInfo.environment,
    currentDirectory: FileManager.default.currentDirectoryPath,
    isErrorTerminal: isatty(2) != 0)
exit(CLI.run(Array(CommandLine.arguments.dropFirst()), context: context))
