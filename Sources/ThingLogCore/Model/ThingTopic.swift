/// A parsed Tencent data-template topic: `$thing/{up|down}/{property|event|action}/{ProductID}/{DeviceName}`
/// (protocol.md §1). Levels are device-controlled text, so their size and characters are bounded here.
public struct ThingTopic: Equatable, Hashable, Sendable {
    public enum Direction: String, CaseIterable, Sendable { case up, down }
    public enum Kind: String, CaseIterable, Sendable { case property, event, action }

    public var direction: Direction
    public var kind: Kind
    public var product: String
    public var device: String

    public init(direction: Direction, kind: Kind, product: String, device: String) {
        self.direction = direction
        self.kind = kind
        self.product = product
        self.device = device
    }

    /// Parses a topic; nil when it is not a data-template topic or its ProductID or DeviceName breaks `names`.
    public init?(_ topic: String, names: NameRules = .platform) {
        var topic = topic
        guard let parsed = topic.withUTF8({ Self.parse($0, names: names) }) else { return nil }
        self = parsed
    }

    /// One pass over the bytes: the five levels, the fixed ones compared as bytes (a topic arrives with every report).
    private static func parse(_ bytes: UnsafeBufferPointer<UInt8>, names: NameRules) -> ThingTopic? {
        var slashes: (Int, Int, Int, Int) = (0, 0, 0, 0)
        var count = 0
        for index in bytes.indices where bytes[index] == UInt8(ascii: "/") {
            switch count {
            case 0: slashes.0 = index
            case 1: slashes.1 = index
            case 2: slashes.2 = index
            case 3: slashes.3 = index
            default: return nil
            }
            count += 1
        }
        guard count == 4 else { return nil }
        func level(_ from: Int, _ to: Int) -> UnsafeBufferPointer<UInt8> {
            UnsafeBufferPointer(rebasing: bytes[from..<to])
        }
        let product = level(slashes.2 + 1, slashes.3)
        let device = level(slashes.3 + 1, bytes.count)
        guard hasSameBytes(level(0, slashes.0), "$thing"),
              let direction = Direction(level: level(slashes.0 + 1, slashes.1)),
              let kind = Kind(level: level(slashes.1 + 1, slashes.2)),
              names.isValidProduct(product), names.isValidDevice(device) else { return nil }
        return ThingTopic(direction: direction, kind: kind, product: String(decoding: product, as: UTF8.self),
                          device: String(decoding: device, as: UTF8.self))
    }

    public var description: String { "$thing/\(direction.rawValue)/\(kind.rawValue)/\(product)/\(device)" }
}

extension ThingTopic.Direction {
    /// The direction whose name has exactly these bytes (a `switch`: `allCases` would build an array per topic).
    init?(level: UnsafeBufferPointer<UInt8>) {
        if hasSameBytes(level, "up") {
            self = .up
        } else if hasSameBytes(level, "down") {
            self = .down
        } else {
            return nil
        }
    }
}

extension ThingTopic.Kind {
    /// The kind whose name has exactly these bytes.
    init?(level: UnsafeBufferPointer<UInt8>) {
        if hasSameBytes(level, "property") {
            self = .property
        } else if hasSameBytes(level, "event") {
            self = .event
        } else if hasSameBytes(level, "action") {
            self = .action
        } else {
            return nil
        }
    }
}
