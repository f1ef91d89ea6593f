import FoundationEssentials
import Dispatch
import Glibc
import ThingLogCore
import ThingLogStore
import ThingLogExport
import ThingLogQuery
import MQTT

/// `thinglog query`: named and ad-hoc SQL on sensor history, read-only (SPEC §4).
struct QueryCommand: Command {
    static let name = "query"
    static let abstract = "Run a named query (queries/NAME.sql or built in), a .sql file or --sql, read-only."
    static let positionalSynopsis = "NAME|FILE.sql"
    static let allowsPositionals = true
    static let options = [
        OptionSpec("--param", "KEY=VALUE", "bind :KEY (from, to, since, until take time arguments)", repeatable: true),
        OptionSpec("--format", "FORMAT", "table (default), csv or json ({\"columns\", \"rows\"})",
                   kind: .choice(ResultFormat.allCases.map(\.rawValue))),
        OptionSpec("--sql", "SQL", "run this SQL instead of a named query"),
        OptionSpec("--list", nil, "list the named queries with their descriptions and where each comes from"),
        OptionSpec("--queries-dir", "DIR", "where named queries are looked up first (default $THINGLOG_QUERIES, else "
                   + "./queries); the shipped ones are built in"),
        OptionSpec("--tz", "TZ", "IANA time zone for calendar dates in time parameters (default $TZ, else UTC)"),
        CommonOptions.database,
    ]
    static let discussion = """
    Views: readings_v(device, metric, ts, value), reports_v, events_v, rejects_v, ppm_v, alarms_v (ts in epoch ms).
    Example: thinglog query hourly-means --param device=dev1 --param metric=MQ7 \\
                 --param from=2026-11-26 --param to=2026-11-27
    """

    let arguments: ParsedArguments
    let format: ResultFormat
    var parameters: [String: String] = [:]

    init(arguments: ParsedArguments, context: CommandContext) throws {
        self.arguments = arguments
        format = try arguments.choice("--format", default: ResultFormat.table)
        for pair in arguments.values("--param") {
            guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
                throw UsageError("--param \(pair): expected KEY=VALUE")
            }
            parameters[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
        }
        let sources = (arguments.has("--sql") ? 1 : 0) + (arguments.has("--list") ? 1 : 0) + arguments.positionals.count
        guard sources == 1 else {
            throw UsageError("give one of: a query NAME or FILE.sql, --sql \"SELECT …\", or --list")
        }
    }

    func run(in context: CommandContext) throws -> Int32 {
        let directory = context.resolve(arguments.value("--queries-dir") ?? context.environment["THINGLOG_QUERIES"]
                                        ?? "queries")
        let named = NamedQueries(directory: directory)
        if arguments.has("--list") {
            let queries = named.list()
            let width = queries.map(\.name.count).max() ?? 0
            let summaryWidth = queries.map(\.summary.count).max() ?? 0
            for query in queries {
                context.standardOutput.write(query.name.padded(to: width + 2)
                    + query.summary.padded(to: summaryWidth + 2)
                    + "(\(query.source))\n")
            }
            return 0
        }
        let sql: String
        if let text = arguments.value("--sql") {
            sql = text
        } else {
            let target = arguments.positionals[0]
            if target.hasSuffix(".sql") || target.contains("/") {
                let path = context.resolve(target)
                guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                    throw UsageError("query \(target): cannot read \(path)")
                }
                sql = text
            } else {
                guard let found = named.find(target) else {
                    throw UsageError("query \(target): no such query (not in \(directory), not built in); see "
                                     + "thinglog query --list")
                }
                sql = found.sql
            }
        }
        let database = try StoreConnection.openForQueries(path: context.databasePath(arguments))
        let runner = QueryRunner(database: database, timeZone: try context.timeZone(arguments))
        let result: QueryRunner.Result
        do {
            result = try runner.run(sql, parameters: parameters)
        } catch let error as SQLiteError {
            throw RuntimeError("query: \(error.message)")
        }
        context.standardOutput.write(format.render(result))
        return 0
    }
}
