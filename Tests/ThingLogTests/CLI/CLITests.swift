import Testing
@testable import ThingLogCLI

@Suite struct CLITests {
    let directory = TemporaryDirectory()

    @Test func helpListsCommandsAndEveryFlag() {
        let overview = runCLI(["help"], in: directory.path)
        #expect(overview.status == 0)
        #expect(overview.standardOutput.contains("ingest") && overview.standardOutput.contains("stats"))
        for command in CLI.commands {
            let help = runCLI([command.name, "--help"], in: directory.path)
            #expect(help.status == 0)
            let usage = help.standardOutput.split(separator: "\n").first.map(String.init) ?? ""
            for option in command.options {
                #expect(help.standardOutput.contains(option.name))
                // The synopsis is made from the parsed options: it names every one of them.
                #expect(usage.contains(option.name + (option.valueName.map { " " + $0 } ?? "")), "\(command.name)")
            }
            #expect(runCLI(["help", command.name], in: directory.path).standardOutput == help.standardOutput)
        }
    }

    @Test func unknownFlagExitsTwoNamingItAndTheClosestFlag() {
        let result = runCLI(["ingest", "--formt", "jsonl"], in: directory.path)
        #expect(result.status == 2)
        #expect(result.standardError.hasPrefix("thinglog: error: unknown flag --formt; did you mean --format?"))
        #expect(result.standardOutput.isEmpty)
    }

    @Test func usageErrorsExitTwo() {
        let cases: [([String], String)] = [
            (["ingest", "--format", "xml"],
             "--format xml: expected jsonl, mosquitto, payload, forward"),
            (["subscribe", "--keepalive", "0"], "--keepalive 0: expected an integer from 1 to 900"),
            (["subscribe", "--sync", "fast"], "--sync fast: expected full or normal"),
            (["subscribe", "--broker", "host:99999"], "--broker host:99999: expected HOST[:PORT]"),
            (["export", "readings", "--from", "yesterday"], "--from yesterday: expected ISO 8601 with a zone"),
            (["simulate", "--devices", "-3"], "--devices -3: expected an integer from 1 to 100000"),
            (["ingest", "--format", "payload"], "--format payload needs --topic"),
            (["ingest", "--format"], "--format needs a value"),
            (["stats", "extra"], "unexpected argument"),
            (["stats", "--json=1"], "--json takes no value"),
            (["statz"], "unknown command \"statz\"; did you mean stats?"),
            (["stats", "--db", "a", "--db", "b"], "--db given twice"),
        ]
        for (arguments, expected) in cases {
            let result = runCLI(arguments, in: directory.path)
            #expect(result.status == 2, "\(arguments)")
            #expect(result.standardError.contains(expected), "\(arguments): \(result.standardError)")
            #expect(result.standardError.hasPrefix("thinglog: error: "))
        }
        #expect(runCLI([], in: directory.path).status == 2)
    }

    @Test func configErrorsExitTwoAndRuntimeErrorsExitOne() {
        directory.write("bad.json", #"{"windows": ["5 min"]}"#)
        let config = runCLI(["ingest", "--config", "bad.json", "--db", "x.db", "-"], in: directory.path)
        #expect(config.status == 2)
        #expect(config.standardError.contains("bad.json: windows[0]: bad duration"))
        let missing = runCLI(["ingest", "--db", "x.db", "no-such-file.jsonl"], in: directory.path)
        #expect(missing.status == 1)
        #expect(missing.standardError.hasPrefix("thinglog: error: cannot open no-such-file.jsonl"))
        let unwritable = runCLI(["stats", "--db", "/proc/no/such/dir/x.db"], in: directory.path)
        #expect(unwritable.status == 1)
    }

    @Test func environmentChoosesTheStore() throws {
        let input = directory.write("in.jsonl", ReportFixture(devices: 1, reportsPerDevice: 2).jsonlLines()
            .joined(separator: "\n"))
        let env = ["THINGLOG_DB": directory.file("env.db")]
        #expect(runCLI(["ingest", input], in: directory.path, environment: env).status == 0)
        let stats = runCLI(["stats", "--json"], in: directory.path, environment: env)
        #expect(stats.standardOutput.contains("\"reports\":2"))
    }
}
