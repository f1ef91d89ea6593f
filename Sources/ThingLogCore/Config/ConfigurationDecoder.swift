import FoundationEssentials
import Dispatch
import Glibc

/// Turns the merged configuration document into a `Configuration`, naming `source` and the key path in every error.
struct ConfigurationDecoder {
    let source: String

    /// A JSON object being read at a key path; rejects keys it was not asked about.
    struct Node {
        let members: [JSONMember]
        let path: String
        let source: String

        func fail(_ key: String?, _ message: String) -> ConfigError {
            let location = [path, key].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ".")
            return ConfigError("\(source): \(location.isEmpty ? "top level" : location): \(message)")
        }

        func value(_ key: String) -> JSONValue? { members.last { $0.key == key }?.value }

        func requireOnly(_ allowed: Set<String>) throws(ConfigError) {
            for member in members where !allowed.contains(member.key) {
                throw fail(member.key, "unknown key (expected one of: \(allowed.sorted().joined(separator: ", ")))")
            }
        }

        func child(_ key: String) throws(ConfigError) -> Node? {
            guard let value = value(key), value != .null else { return nil }
            guard let members = value.members else { throw fail(key, "expected an object, found \(value.kindName)") }
            return Node(members: members, path: path.isEmpty ? key : "\(path).\(key)", source: source)
        }

        func string(_ key: String) throws(ConfigError) -> String? {
            guard let value = value(key), value != .null else { return nil }
            guard let text = value.stringValue else { throw fail(key, "expected a string, found \(value.kindName)") }
            return text
        }

        func number(_ key: String) throws(ConfigError) -> Double? {
            guard let value = value(key), value != .null else { return nil }
            guard let number = value.doubleValue else { throw fail(key, "expected a number, found \(value.kindName)") }
            return number
        }

        func positiveNumber(_ key: String) throws(ConfigError) -> Double? {
            guard let number = try number(key) else { return nil }
            guard number > 0 else { throw fail(key, "expected a positive number, found \(number)") }
            return number
        }

        func bool(_ key: String) throws(ConfigError) -> Bool? {
            guard let value = value(key), value != .null else { return nil }
            guard case .bool(let flag) = value else { throw fail(key, "expected true or false") }
            return flag
        }

        func duration(_ key: String) throws(ConfigError) -> Int64? {
            guard let text = try string(key) else { return nil }
            guard let milliseconds = DurationText.milliseconds(text) else {
                throw fail(key, "bad duration \"\(text)\" (expected a number with ms, s, m, h or d, like 5m)")
            }
            return milliseconds
        }
    }

    func decode(_ document: JSONValue, baseDirectory: String, templateIsExplicit: Bool,
                rulesFromFile: Bool) throws -> Configuration {
        let root = Node(members: document.members ?? [], path: "", source: source)
        try root.requireOnly(["template", "sensors", "compensation", "warmup", "windows", "alarms", "names", "limits"])

        var templatePath: String?
        var template: DataTemplate?
        if let path = try root.string("template") {
            let resolved = path.hasPrefix("/") ? path : Path.join(baseDirectory, path)
            if let data = FileManager.default.contents(atPath: resolved) {
                let json: JSONValue
                do { json = try JSONParser.parse(Array(data)) } catch {
                    throw ConfigError("\(resolved): data template is not valid JSON: \(error)")
                }
                template = try DataTemplate(json: json)
                templatePath = resolved
            } else if templateIsExplicit {
                throw RuntimeError("\(source): template: cannot read \(resolved)")
            }
        }

        var sensors: [SensorConfiguration] = []
        if let sensorsNode = try root.child("sensors") {
            for member in sensorsNode.members.sorted(by: { $0.key < $1.key }) {
                guard let node = try sensorsNode.child(member.key) else { continue }
                sensors.append(try decodeSensor(node, key: member.key))
            }
        }

        let compensationNode = try root.child("compensation")
        try compensationNode?.requireOnly(["temperature", "humidity", "enabled"])
        let compensation = Compensation(
            temperatureProperty: try compensationNode?.string("temperature") ?? "DHT11_T",
            humidityProperty: try compensationNode?.string("humidity") ?? "DHT11_H",
            isEnabled: try compensationNode?.bool("enabled") ?? false)

        let warmup = try root.duration("warmup") ?? 0

        var windows: [RollingWindow] = []
        for (index, value) in (root.value("windows")?.elements ?? []).enumerated() {
            guard let text = value.stringValue, let milliseconds = DurationText.milliseconds(text), milliseconds > 0
            else { throw root.fail("windows[\(index)]", "bad duration \(JSONWriter.serialize(value)) (like 5m)") }
            guard !windows.contains(where: { $0.name == text }) else {
                throw root.fail("windows[\(index)]", "window \(text) listed twice")
            }
            windows.append(RollingWindow(name: text, milliseconds: milliseconds))
        }
        if let value = root.value("windows"), value.elements == nil {
            throw root.fail("windows", "expected an array of durations")
        }

        var alarms: [AlarmRule] = []
        guard let rules = root.value("alarms")?.elements ?? (root.value("alarms") == nil ? [] : nil) else {
            throw root.fail("alarms", "expected an array of rules")
        }
        let seriesNames = Set(sensors.flatMap { sensor in sensor.gases.map { "\(sensor.key).\($0.gas)" } })
        let windowNames = Set(windows.map(\.name) + ["twa8h", "stel15m"])
        for (index, rule) in rules.enumerated() {
            guard let members = rule.members else { throw root.fail("alarms[\(index)]", "expected an object") }
            let node = Node(members: members, path: "alarms[\(index)]", source: source)
            let decoded = try decodeRule(node)
            if case .threshold(let series, _, _, _, _, _) = decoded.kind {
                try checkSeries(series, node: node, windowNames: windowNames,
                                ppmSeries: rulesFromFile ? seriesNames : nil, sensors: sensors)
            }
            if case .stuck(let series, _) = decoded.kind {
                try checkSeries(series, node: node, windowNames: windowNames,
                                ppmSeries: rulesFromFile ? seriesNames : nil, sensors: sensors)
            }
            guard !alarms.contains(where: { $0.name == decoded.name }) else {
                throw node.fail("name", "rule name \"\(decoded.name)\" is used twice")
            }
            alarms.append(decoded)
        }
        var configuration = Configuration(templatePath: templatePath, template: template, sensors: sensors,
                                          compensation: compensation, warmupMilliseconds: warmup, windows: windows,
                                          alarms: alarms)
        if let text = try root.string("names") {
            guard let names = NameRules(rawValue: text) else {
                throw root.fail("names", "unknown name rules \"\(text.prefix(64))\" (expected platform or any)")
            }
            configuration.names = names
        }
        if let node = try root.child("limits") {
            try node.requireOnly(["properties_per_report", "series_per_device", "devices"])
            func limit(_ key: String, _ defaultValue: Int) throws(ConfigError) -> Int {
                guard let number = try node.number(key) else { return defaultValue }
                guard number == number.rounded(), number >= 1, number <= 1e9 else {
                    throw node.fail(key, "expected an integer from 1 to 1000000000")
                }
                return Int(number)
            }
            configuration.limits = IngestLimits(
                propertiesPerReport: try limit("properties_per_report", IngestLimits.default.propertiesPerReport),
                seriesPerDevice: try limit("series_per_device", IngestLimits.default.seriesPerDevice),
                devices: try limit("devices", IngestLimits.default.devices))
        }
        return configuration
    }

    private func decodeSensor(_ node: Node, key: String) throws -> SensorConfiguration {
        try node.requireOnly(["model", "input", "vc", "rl_ohms", "r0_ohms", "gases", "heater_cycle"])
        let modelName = try node.string("model") ?? key
        guard let model = SensorModel.all[modelName] else {
            throw node.fail("model", "no curves for sensor model \"\(modelName)\" (known: "
                            + SensorModel.all.keys.sorted().joined(separator: ", ") + ")")
        }
        var input = SensorInput.adc(bits: 10, vref: 5.0)
        if let inputNode = try node.child("input") {
            let kind = try inputNode.string("kind") ?? "adc"
            switch kind {
            case "adc":
                try inputNode.requireOnly(["kind", "bits", "vref"])
                let bits = try inputNode.number("bits") ?? 10
                guard bits == bits.rounded(), (1...32).contains(bits) else {
                    throw inputNode.fail("bits", "expected an integer from 1 to 32")
                }
                input = .adc(bits: Int(bits), vref: try inputNode.positiveNumber("vref") ?? 5.0)
            case "volts": try inputNode.requireOnly(["kind"]); input = .volts
            case "percent":
                try inputNode.requireOnly(["kind", "vref"])
                input = .percent(vref: try inputNode.positiveNumber("vref") ?? 5.0)
            case "ohms": try inputNode.requireOnly(["kind"]); input = .ohms
            case "ratio": try inputNode.requireOnly(["kind"]); input = .ratio
            default:
                throw inputNode.fail("kind",
                                     "unknown input kind \"\(kind)\" (expected adc, volts, percent, ohms or ratio)")
            }
        }
        var gases: [SensorModel.GasCurve] = []
        if let list = node.value("gases"), list != .null {
            guard let elements = list.elements else { throw node.fail("gases", "expected an array of gas names") }
            for (index, element) in elements.enumerated() {
                guard let name = element.stringValue, let curve = model.curve(for: name) else {
                    throw node.fail("gases[\(index)]", "\(model.name) has no curve for \(JSONWriter.serialize(element))"
                                    + " (known: \(model.curves.map(\.gas).joined(separator: ", ")))")
                }
                gases.append(curve)
            }
        } else {
            gases = model.defaultGases.compactMap(model.curve(for:))
        }
        var heaterCycle: Int64?
        if let cycleNode = try node.child("heater_cycle") {
            try cycleNode.requireOnly(["offset"])
            heaterCycle = try cycleNode.duration("offset") ?? 0
        }
        let r0 = try node.number("r0_ohms")
        if let r0, !(r0 > 0) { throw node.fail("r0_ohms", "expected a positive number of ohms or null") }
        return SensorConfiguration(key: key, model: model, input: input,
                                   supplyVolts: try node.positiveNumber("vc") ?? 5.0,
                                   loadOhms: try node.positiveNumber("rl_ohms") ?? 10_000,
                                   r0Ohms: r0, gases: gases, heaterCyclePhaseMilliseconds: heaterCycle)
    }

    private func decodeRule(_ node: Node) throws(ConfigError) -> AlarmRule {
        guard let name = try node.string("name"), !name.isEmpty else {
            throw node.fail("name", "every rule needs a name")
        }
        let severityText = try node.string("severity") ?? "warning"
        guard let severity = AlarmRule.Severity(rawValue: severityText) else {
            throw node.fail("severity", "unknown severity \"\(severityText)\" (expected info, warning or critical)")
        }
        let kind = try node.string("kind") ?? "threshold"
        switch kind {
        case "threshold":
            try node.requireOnly(["name", "kind", "metric", "above", "below", "clear", "for", "clear_for", "severity"])
            guard let series = try node.string("metric") else {
                throw node.fail("metric", "a threshold rule needs a metric")
            }
            let above = try node.number("above"), below = try node.number("below")
            guard (above == nil) != (below == nil), let threshold = above ?? below else {
                throw node.fail(nil, "a threshold rule needs exactly one of above or below")
            }
            let clear = try node.number("clear") ?? threshold
            if above != nil, clear > threshold {
                throw node.fail("clear", "must not be above the threshold \(threshold)")
            }
            if below != nil, clear < threshold {
                throw node.fail("clear", "must not be below the threshold \(threshold)")
            }
            return AlarmRule(name: name, severity: severity,
                             kind: .threshold(series: series, isAbove: above != nil, threshold: threshold, clear: clear,
                                              forMilliseconds: try node.duration("for") ?? 0,
                                              clearForMilliseconds: try node.duration("clear_for") ?? 0))
        case "stale":
            try node.requireOnly(["name", "kind", "after", "severity"])
            guard let after = try node.duration("after"), after > 0 else {
                throw node.fail("after", "a stale rule needs a positive duration, like 10m")
            }
            return AlarmRule(name: name, severity: severity, kind: .stale(afterMilliseconds: after))
        case "stuck":
            try node.requireOnly(["name", "kind", "metric", "for", "severity"])
            guard let series = try node.string("metric") else {
                throw node.fail("metric", "a stuck rule needs a metric")
            }
            guard let duration = try node.duration("for"), duration > 0 else {
                throw node.fail("for", "a stuck rule needs a positive duration, like 30m")
            }
            return AlarmRule(name: name, severity: severity, kind: .stuck(series: series, forMilliseconds: duration))
        default:
            throw node.fail("kind", "unknown rule kind \"\(kind)\" (expected threshold, stale or stuck)")
        }
    }

    /// Checks a rule's series name: `METRIC`, `SENSOR.GAS` or either with `@WINDOW`.
    private func checkSeries(_ series: String, node: Node, windowNames: Set<String>, ppmSeries: Set<String>?,
                             sensors: [SensorConfiguration]) throws(ConfigError) {
        let parts = series.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count <= 2, let base = parts.first, !base.isEmpty else {
            throw node.fail("metric", "bad series \"\(series)\" (expected METRIC, SENSOR.GAS or either with @WINDOW)")
        }
        if parts.count == 2, !windowNames.contains(String(parts[1])) {
            throw node.fail("metric", "window \"\(parts[1])\" is not configured (windows: "
                            + windowNames.sorted().joined(separator: ", ") + ")")
        }
        if parts.count == 2, ["twa8h", "stel15m"].contains(String(parts[1])), !base.contains(".") {
            throw node.fail("metric", "\(parts[1]) exists only for ppm series such as MQ7.CO")
        }
        if base.contains("."), let ppmSeries, !ppmSeries.contains(String(base)) {
            let configured = ppmSeries.sorted().joined(separator: ", ")
            throw node.fail("metric", "no ppm series \"\(base)\" (configured: \(configured))")
        }
    }
}
