import ThingLogCore
import ThingLogStore
import ThingLogExport
import MQTT

/// A flag a command accepts (`--db PATH`), with the help line that documents it.
public struct OptionSpec: Sendable {
    public var name: String
    /// The value's placeholder in help (`PATH`); nil for a flag without value.
    public var valueName: String?
    public var help: String
    public var isRepeatable: Bool
    /// Shown without brackets in the synopsis; the command checks its presence.
    public var isRequired: Bool

    public init(_ name: String, _ valueName: String? = nil, _ help: String, repeatable: Bool = false,
                required: Bool = false) {
        self.name = name
        self.valueName = valueName
        self.help = help
        self.isRepeatable = repeatable
        self.isRequired = required
    }

    public var takesValue: Bool { valueName != nil }
}

/// The arguments of one command after parsing.
public struct ParsedArguments: Sendable {
    public var values: [String: [String]] = [:]
    public var positionals: [String] = []

    public func value(_ name: String) -> String? { values[name]?.last }
    public func values(_ name: String) -> [String] { values[name] ?? [] }
    public func has(_ name: String) -> Bool { values[name] != nil }

    /// The value of `name` parsed as one of `choices`, or a usage error naming the flag and the accepted forms.
    public func choice<T: RawRepresentable>(_ name: String, default fallback: T) throws(UsageError) -> T
        where T: CaseIterable, T.RawValue == String {
        guard let text = value(name) else { return fallback }
        guard let chosen = T(rawValue: text) else {
            throw UsageError("\(name): unknown value \"\(text)\" (expected "
                             + T.allCases.map(\.rawValue).joined(separator: "|") + ")")
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
