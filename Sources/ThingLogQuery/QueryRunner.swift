import FoundationEssentials
import Dispatch
import Glibc
import ThingLogCore
import ThingLogStore
import ThingLogExport

/// Runs named (`queries/NAME.sql`) and ad-hoc SQL on a read-only connection (SPEC §4 `query`): `:key` parameters are
/// bound, never spliced; `from`, `to`, `since` and `until` are time arguments bound as epoch milliseconds.
public struct QueryRunner {
    /// Parameters whose values are SPEC §3 time arguments.
    public static let timeParameters: Set<String> = ["from", "to", "since", "until"]

    public let database: Database
    public let timeZone: ZoneInfo

    public init(database: Database, timeZone: ZoneInfo) {
        self.database = database
        self.timeZone = timeZone
    }

    /// The result: column names and rows.
    public struct Result: Sendable, Equatable {
        public var columns: [String]
        public var rows: [[SQLiteValue]]
    }

    /// Prepares `sql` (exactly one statement), binds `parameters`, and returns every row.
    public func run(_ sql: String, parameters: [String: String]) throws -> Result {
        let statement = try database.prepare(sql)
        guard !statement.hasFurtherStatements else {
            throw UsageError("query: more than one SQL statement (\(statement.tail.prefix(60))…); give one SELECT")
        }
        guard statement.isReadOnly else {
            throw UsageError("query: only statements that read run here; this one would change the store")
        }
        var used = Set<String>()
        for index in stride(from: 1, through: statement.parameterCount, by: 1) {
            guard let marker = statement.parameterName(at: index), marker.count > 1 else {
                throw UsageError("query: use named parameters (:key), not ?")
            }
            let name = String(marker.dropFirst())
            guard let text = parameters[name] else {
                throw UsageError("query: missing parameter :\(name) (give --param \(name)=VALUE)")
            }
            used.insert(name)
            try statement.bind(try value(name: name, text: text), at: index)
        }
        if let unused = Set(parameters.keys).subtracting(used).sorted().first {
            throw UsageError("--param \(unused): the query has no parameter :\(unused)")
        }
        let columns = (0..<statement.columnCount).map(statement.columnName)
        var rows: [[SQLiteValue]] = []
        while try statement.step() { rows.append((0..<columns.count).map(statement.value)) }
        return Result(columns: columns, rows: rows)
    }

    func value(name: String, text: String) throws(UsageError) -> SQLiteValue {
        if Self.timeParameters.contains(name) {
            guard let milliseconds = Timestamp.parseArgument(text, timeZone: timeZone) else {
                throw UsageError("--param \(name)=\(text): expected ISO 8601 with a zone, YYYY-MM-DD or epoch ms")
            }
            return .integer(milliseconds)
        }
        if let integer = Int64(text) { return .integer(integer) }
        if let real = Double(text), real.isFinite { return .real(real) }
        return .text(text)
    }
}

/// How query results are printed: an aligned table for people, CSV, or JSON.
public enum ResultFormat: String, CaseIterable, Sendable {
    case table, csv, json

    public func render(_ result: QueryRunner.Result) -> String {
        switch self {
        case .csv:
            return CSVWriter.record(result.columns) + result.rows.map { CSVWriter.record($0.map(Self.text)) }.joined()
        case .json:
            let rows = result.rows.map { row in
                "{" + zip(result.columns, row).map { "\(JSONWriter.quoted($0)):\(Self.json($1))" }
                    .joined(separator: ",") + "}"
            }
            return "{\"columns\":[" + result.columns.map(JSONWriter.quoted).joined(separator: ",") + "],\"rows\":["
                + rows.joined(separator: ",") + "]}\n"
        case .table:
            return table(result)
        }
    }

    /// An aligned table for a terminal: control characters escaped (`\x1b`), widths in characters, trailing blanks
    /// trimmed; linear in the size of the result.
    func table(_ result: QueryRunner.Result) -> String {
        let header = result.columns.map(Self.escaped)
        let cells = result.rows.map { $0.map { Self.escaped(Self.text($0) ?? "") } }
        let widths = header.indices.map { column in
            ([header[column]] + cells.map { $0[column] }).map(\.count).max() ?? 0
        }
        let numeric = header.indices.map { column in
            result.rows.allSatisfy { row in
                switch row[column] { case .integer, .real, .null: true; default: false }
            }
        }
        func line(_ fields: [String], numeric: [Bool]) -> String {
            var text = ""
            for (index, field) in fields.enumerated() {
                let padding = String(repeating: " ", count: max(0, widths[index] - field.count))
                if index > 0 { text += "  " }
                text += numeric[index] ? padding + field : field + padding
            }
            while text.last == " " { text.removeLast() }
            return text + "\n"
        }
        var output = line(header, numeric: numeric)
        output += line(widths.map { String(repeating: "-", count: $0) }, numeric: numeric.map { _ in false })
        for row in cells { output += line(row, numeric: numeric) }
        output += "(\(result.rows.count) row\(result.rows.count == 1 ? "" : "s"))\n"
        return output
    }

    /// Control characters (C0, DEL, C1) as `\xNN` and backslashes doubled, so no value can drive the terminal.
    static func escaped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControl) || text.contains("\\") else { return text }
        var out = ""
        for scalar in text.unicodeScalars {
            if isControl(scalar) {
                let hex = String(scalar.value, radix: 16)
                out += "\\x" + (hex.count < 2 ? "0" + hex : hex)
            } else if scalar == "\\" {
                out += "\\\\"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }

    /// A value as text; nil for null (the table escapes control characters; CSV and JSON carry them as data).
    static func text(_ value: SQLiteValue) -> String? {
        switch value {
        case .null: nil
        case .integer(let number): String(number)
        case .real(let number): NumberFormatting.shortest(number) ?? String(number)
        case .text(let string): string
        case .blob(let bytes): "x'" + hexString(bytes) + "'"
        }
    }

    static func json(_ value: SQLiteValue) -> String {
        switch value {
        case .null: "null"
        case .integer(let number): String(number)
        case .real(let number): JSONWriter.number(number)
        case .text(let string): JSONWriter.quoted(string)
        case .blob(let bytes): JSONWriter.quoted(hexString(bytes))
        }
    }
}
