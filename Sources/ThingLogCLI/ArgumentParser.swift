import FoundationEssentials
import Dispatch
import Glibc
import ThingLogCore
import ThingLogStore
import ThingLogExport
import MQTT

/// A flag a command accepts (`--db PATH`): declared once, with the kind of value it takes and the help line that
/// documents it. Parsing checks every value against its kind, so a bad value is a usage error naming the flag before
/// the command runs, and the synopsis and `--help` are made from the same declarations.
public struct OptionSpec: Sendable {
    public var name: String
    /// The value's placeholder in help (`PATH`); nil for a flag without value.
    public var valueName: String?
    public var help: String
    public var isRepeatable: Bool
    /// Shown without brackets in the synopsis; the command checks its presence.
    public var isRequired: Bool
    public var kind: ValueKind

    /// What a value must be.
    public enum ValueKind: Sendable {
        /// Any text (names, paths, filters: the command or the store checks them).
        case text
        /// A whole number in a range.
        case integer(ClosedRange<Int>)
        /// One of these words.
        case choice([String])
        /// A SPEC §3 time argument: ISO 8601 with a zone, `YYYY-MM-DD`, or epoch milliseconds.
        case time
        /// `HOST[:PORT]` or `[IPv6]:PORT`.
        case address(defaultPort: Int)
        /// A duration such as `90s`, `15m`, `2h`, `1d` (SPEC §7).
        case duration
    }

    public init(_ name: String, _ valueName: String? = nil, _ help: String, repeatable: Bool = false,
                required: Bool = false, kind: ValueKind = .text) {
        self.name = name
        self.valueName = valueName
        self.help = help
        self.isRepeatable = repeatable
        self.isRequired = required
        self.kind = kind
    }

    public var takesValue: Bool { valueName != nil }

    /// Checks a value against the kind; the error names the flag and the accepted form.
    func validate(_ value: String) throws(UsageError) {
        switch kind {
        case .text:
            return
        case .integer(let range):
            guard let number = Int(value), range.contains(number) else {
                throw UsageError("\(name) \(value): expected an integer from \(range.lowerBound) to "
                                 + "\(range.upperBound)")
            }
        case .choice(let words):
            guard words.contains(value) else {
                let list = words.count == 2 ? "\(words[0]) or \(words[1])" : words.joined(separator: ", ")
                throw UsageError("\(name) \(value): expected \(list)")
            }
        case .time:
            guard Timestamp.parseArgument(value, timeZone: .utc) != nil else {
                throw UsageError("\(name) \(value): expected ISO 8601 with a zone (2026-11-26T08:00:00Z), YYYY-MM-DD "
                                 + "or epoch milliseconds, within years 0001–9999")
            }
        case .address(let port):
            _ = try BrokerAddress(value, flag: name, defaultPort: port)
        case .duration:
            guard DurationText.milliseconds(value) != nil else {
                throw UsageError("\(name) \(value): expected a duration such as 90s, 15m, 2h or 1d")
            }
        }
    }
}

/// The arguments of one command after parsing.
public struct ParsedArguments: Sendable {
    public var values: [String: [String]] = [:]
    public var positionals: [String] = []

    public func value(_ name: String) -> String? { values[name]?.last }
    public func values(_ name: String) -> [String] { values[name] ?? [] }
    public func has(_ name: String) -> Bool { values[name] != nil }

    /// The value of an `.integer` option (checked when parsed).
    public func integer(_ name: String) -> Int? { value(name).flatMap { Int($0) } }

    /// The milliseconds of a `.duration` option (checked when parsed).
    public func duration(_ name: String) -> Int64? { value(name).flatMap(DurationText.milliseconds) }

    /// The value of `name` as one of `T`'s cases (declared with `.choice` of its raw values, so parsing has checked
    /// it); a usage error naming the flag and the accepted forms otherwise.
    public func choice<T: RawRepresentable>(_ name: String, default fallback: T) throws(UsageError) -> T
        where T: CaseIterable, T.RawValue == String {
        guard let text = value(name) else { return fallback }
        guard let chosen = T(rawValue: text) else {
            throw UsageError("\(name) \(text): expected " + T.allCases.map(\.rawValue).joined(separator: ", "))
        }
        return chosen
    }
}

/// Parses `--name value`, `--name=value`, flags, positionals, `-` and `--`.
public enum ArgumentParser {
    public static func parse(_ arguments: [String], options: [OptionSpec],
                             allowsPositionals: Bool) throws(UsageError) -> ParsedArguments {
        var parsed = ParsedArguments()
        var index = 0
        var onlyPositionals = false
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if onlyPositionals || !argument.hasPrefix("-") || argument == "-" {
                guard allowsPositionals else { throw UsageError("unexpected argument \"\(argument)\"") }
                parsed.positionals.append(argument)
                continue
            }
            if argument == "--" { onlyPositionals = true; continue }
            var name = argument
            var inlineValue: String?
            if let equals = argument.firstIndex(of: "=") {
                name = String(argument[..<equals])
                inlineValue = String(argument[argument.index(after: equals)...])
            }
            guard let option = options.first(where: { $0.name == name }) else {
                var message = "unknown flag \(name)"
                if let suggestion = closest(to: name, among: options.map(\.name)) {
                    message += "; did you mean \(suggestion)?"
                }
                throw UsageError(message)
            }
            let value: String
            if option.takesValue {
                if let inlineValue {
                    value = inlineValue
                } else {
                    guard index < arguments.count else {
                        throw UsageError("\(name) needs a value: \(name) \(option.valueName ?? "VALUE")")
                    }
                    value = arguments[index]
                    index += 1
                }
            } else {
                guard inlineValue == nil else { throw UsageError("\(name) takes no value") }
                value = ""
            }
            if !option.isRepeatable, parsed.values[name] != nil {
                throw UsageError("\(name) given twice")
            }
            if option.takesValue { try option.validate(value) }
            parsed.values[name, default: []].append(value)
        }
        return parsed
    }

    /// The candidate nearest to `name` by edit distance, when near enough to be a plausible typo.
    static func closest(to name: String, among candidates: [String]) -> String? {
        let scored = candidates.map { ($0, editDistance(name, $0)) }.min { $0.1 < $1.1 }
        guard let (candidate, distance) = scored, distance <= max(2, name.count / 3) else { return nil }
        return candidate
    }

    static func editDistance(_ lhs: String, _ rhs: String) -> Int {
        let a = Array(lhs), b = Array(rhs)
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}
