/// A Tencent IoT Explorer data template (thing model) export (protocol.md §3), reduced to what ingest checks:
/// which property ids exist and the range each numeric property declares.
public struct DataTemplate: Sendable, Equatable {
    /// What a property's `define` allows for a numeric reading.
    public enum Bounds: Sendable, Equatable {
        /// `int` / `float` / `timestamp`: an inclusive range when the template states one.
        case range(min: Double?, max: Double?)
        /// `bool` (0/1) and `enum` (integer keys of `mapping`).
        case keys(Set<Int64>)
        /// Types whose values are not numbers (`string`, `stringenum`, `struct`, `array`).
        case nonNumeric
    }

    public var productID: String?
    public var properties: [String: Bounds] { didSet { exactProperties = Self.byExactID(properties) } }
    /// `properties` by the exact bytes of their ids (SPEC §5: names are never normalized), as `check` looks them up.
    private var exactProperties: [ExactName: Bounds]
    /// The human name and unit of each property that declares them (for report labels).
    public var labels: [String: (name: String, unit: String)] = [:]

    public static func == (a: DataTemplate, b: DataTemplate) -> Bool {
        a.productID == b.productID && a.properties == b.properties
            && a.labels.mapValues { "\($0.name)\u{0}\($0.unit)" } == b.labels.mapValues { "\($0.name)\u{0}\($0.unit)" }
    }

    public init(productID: String?, properties: [String: Bounds]) {
        self.productID = productID
        self.properties = properties
        exactProperties = Self.byExactID(properties)
    }

    /// Reads a template export. Throws a message naming the offending path.
    public init(json: JSONValue) throws(ConfigError) {
        guard json.isObject else { throw ConfigError("template: expected an object, found \(json.kindName)") }
        productID = json["profile"]?["ProductId"]?.stringValue
        var properties: [String: Bounds] = [:]
        for (index, property) in (json["properties"]?.elements ?? []).enumerated() {
            guard let id = property["id"]?.stringValue else {
                throw ConfigError("template: properties[\(index)].id: expected a string")
            }
            let define = property["define"]
            let type = define?["type"]?.stringValue ?? ""
            labels[id] = (property["name"]?.stringValue ?? id, define?["unit"]?.stringValue ?? "")
            func bound(_ key: String) -> Double? {
                switch define?[key] {
                case .string(let text)?: Double(text)
                case .number(let number)?: number
                default: nil
                }
            }
            switch type {
            case "int", "float", "timestamp": properties[id] = .range(min: bound("min"), max: bound("max"))
            case "bool": properties[id] = .keys([0, 1])
            case "enum":
                let keys = (define?["mapping"]?.members ?? []).compactMap { Int64($0.key) }
                properties[id] = .keys(Set(keys))
            default: properties[id] = .nonNumeric
            }
        }
        self.properties = properties
        exactProperties = Self.byExactID(properties)
    }

    /// Whether the template applies to reports of `product` (a template without a product id applies to all).
    public func applies(to product: String) -> Bool { Self.applies(productID: productID, to: product) }

    /// Whether a template of `productID` applies to reports of `product`.
    public static func applies(productID: String?, to product: String) -> Bool {
        productID == nil || productID == product
    }

    /// How a numeric reading of property `id` fares against the template.
    public enum Verdict: Sendable, Equatable { case valid, outOfRange, unknownProperty }

    public func check(_ id: String, value: Double) -> Verdict {
        Self.verdict(bounds(of: id), value: value)
    }

    /// The bounds of property `id` (its exact bytes), nil when the template does not declare it.
    public func bounds(of id: String) -> Bounds? { exactProperties[ExactName(id)] }

    private static func byExactID(_ properties: [String: Bounds]) -> [ExactName: Bounds] {
        Dictionary(properties.map { (ExactName($0.key), $0.value) }) { first, _ in first }
    }

    /// How `value` fares against a property's `bounds` (nil: an undeclared property).
    public static func verdict(_ bounds: Bounds?, value: Double) -> Verdict {
        guard let bounds else { return .unknownProperty }
        switch bounds {
        case .range(let low, let high):
            if let low, value < low { return .outOfRange }
            if let high, value > high { return .outOfRange }
            return .valid
        case .keys(let keys):
            return value == value.rounded() && abs(value) < 9e18 && keys.contains(Int64(value)) ? .valid : .outOfRange
        case .nonNumeric:
            return .outOfRange
        }
    }
}

