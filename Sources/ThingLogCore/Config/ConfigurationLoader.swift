import FoundationEssentials
import Dispatch
import Glibc

/// Finds, merges and validates the configuration (SPEC §3, §7): `--config`, else `$THINGLOG_CONFIG`, else
/// `./thinglog.json` when present, else the built-in default. A file's objects merge over the defaults key by key;
/// arrays and objects with a `kind` (such as `input`) replace the default whole, so a file with `alarms` replaces
/// the whole list.
public enum ConfigurationLoader {
    /// Where the configuration was found.
    public static func locate(explicitPath: String?, environment: [String: String],
                              currentDirectory: String) -> String? {
        if let explicitPath { return explicitPath }
        if let fromEnvironment = environment["THINGLOG_CONFIG"], !fromEnvironment.isEmpty { return fromEnvironment }
        let local = Path.join(currentDirectory, "thinglog.json")
        return FileManager.default.fileExists(atPath: local) ? local : nil
    }

    /// Loads the configuration at `path` (nil: built-in defaults). Throws `ConfigError` for content problems and
    /// `RuntimeError` when the file cannot be read.
    public static func load(path: String?, currentDirectory: String) throws -> Configuration {
        let defaults = try parse(DefaultConfiguration.json, source: "built-in configuration")
        var merged = defaults
        var source = "built-in configuration"
        var baseDirectory = currentDirectory
        var rulesFromFile = false
        var templateIsExplicit = false
        if let path {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw RuntimeError("cannot read configuration file \(path)")
            }
            source = path
            let file = try parse(String(decoding: data, as: UTF8.self), source: path)
            guard file.isObject else { throw ConfigError("\(path): expected a JSON object at the top level") }
            rulesFromFile = file["alarms"] != nil
            templateIsExplicit = file["template"] != nil
            merged = merge(defaults, file)
            let absolute = path.hasPrefix("/") ? path : Path.join(currentDirectory, path)
            baseDirectory = Path.parent(absolute)
        }
        return try ConfigurationDecoder(source: source).decode(
            merged, baseDirectory: baseDirectory, templateIsExplicit: templateIsExplicit,
            rulesFromFile: rulesFromFile)
    }

    static func parse(_ text: String, source: String) throws(ConfigError) -> JSONValue {
        do {
            return try JSONParser.parse(Array(text.utf8))
        } catch {
            throw ConfigError("\(source): not valid JSON: \(error)")
        }
    }

    /// Merges `override` over `base` (see the type's summary).
    static func merge(_ base: JSONValue, _ override: JSONValue) -> JSONValue {
        guard case .object(var baseMembers) = base, case .object(let overrideMembers) = override,
              override["kind"] == nil else { return override }
        for member in overrideMembers {
            if let index = baseMembers.firstIndex(where: { $0.key == member.key }) {
                baseMembers[index].value = merge(baseMembers[index].value, member.value)
            } else {
                baseMembers.append(member)
            }
        }
        return .object(baseMembers)
    }
}
