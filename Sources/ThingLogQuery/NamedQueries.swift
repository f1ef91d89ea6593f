import FoundationEssentials
import ThingLogCore
import Dispatch
import Glibc

/// Finds named queries (SPEC §4 `query`): `NAME.sql` in the queries directory (`--queries-dir`, else
/// `$THINGLOG_QUERIES`, else `./queries`) when it has that file, else the built-in copy compiled into the binary, so
/// an installed thinglog answers the shipped queries from any directory.
public struct NamedQueries: Sendable {
    public let directory: String

    public init(directory: String) {
        self.directory = directory
    }

    /// Where a query's text came from.
    public enum Source: Sendable, Equatable, CustomStringConvertible {
        case file(String)
        case builtIn

        public var description: String {
            switch self {
            case .file(let path): path
            case .builtIn: "built in"
            }
        }
    }

    /// One query that `--list` shows.
    public struct Entry: Sendable, Equatable {
        public var name: String
        /// The first line of its leading `--` comment.
        public var summary: String
        public var source: Source
    }

    /// The query `name`: the directory's file first, else the built-in copy; nil when neither exists.
    public func find(_ name: String) -> (sql: String, source: Source)? {
        let path = Path.join(directory, name + ".sql")
        if let text = try? String(contentsOfFile: path, encoding: .utf8) { return (text, .file(path)) }
        return BuiltInQueries.all.first { $0.name == name }.map { ($0.sql, .builtIn) }
    }

    /// Every query `find` can return, by name: the directory's `*.sql` files and the built-in ones they do not
    /// shadow.
    public func list() -> [Entry] {
        var entries: [String: Entry] = [:]
        for query in BuiltInQueries.all {
            entries[query.name] = Entry(name: query.name, summary: Self.summary(of: query.sql), source: .builtIn)
        }
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for file in files where file.hasSuffix(".sql") {
            let path = Path.join(directory, file)
            let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            let name = String(file.dropLast(4))
            entries[name] = Entry(name: name, summary: Self.summary(of: text), source: .file(path))
        }
        return entries.values.sorted { $0.name < $1.name }
    }

    /// The first non-blank line when it is a `--` comment, without the dashes.
    static func summary(of text: String) -> String {
        let first = text.split(separator: "\n").first { !$0.trimmedOfBlanks.isEmpty } ?? ""
        return first.hasPrefix("--") ? first.dropFirst(2).trimmedOfBlanks : ""
    }
}
