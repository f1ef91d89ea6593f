/// A parsed Tencent data-template topic: `$thing/{up|down}/{property|event|action}/{ProductID}/{DeviceName}`
/// (protocol.md §1). Levels are device-controlled text, so their size and characters are bounded here.
public struct ThingTopic: Equatable, Hashable, Sendable {
    public enum Direction: String, Sendable { case up, down }
    public enum Kind: String, Sendable { case property, event, action }

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
        let levels = topic.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        guard levels.count == 5, levels[0].elementsEqual("$thing".utf8),
              let direction = Direction(rawValue: String(decoding: levels[1], as: UTF8.self)),
              let kind = Kind(rawValue: String(decoding: levels[2], as: UTF8.self)),
              names.isValidProduct(levels[3]), names.isValidDevice(levels[4]) else { return nil }
        self.direction = direction
        self.kind = kind
        self.product = String(decoding: levels[3], as: UTF8.self)
        self.device = String(decoding: levels[4], as: UTF8.self)
    }

    public var description: String { "$thing/\(direction.rawValue)/\(kind.rawValue)/\(product)/\(device)" }
}
