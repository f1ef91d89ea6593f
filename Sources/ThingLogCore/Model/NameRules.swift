/// Which names a device may use for its product, its device name and its property ids (SPEC §5 "Names").
///
/// Everything here is device-controlled text, checked as bytes. `platform` (the default) is the platform's own
/// identifier rules, loosened a little; `any` accepts any UTF-8 without control characters for fleets that are not
/// on the platform. Neither lets a property id hold `.` or `@` (the derived series names `MQ7.CO`, `MQ7@5m`).
public enum NameRules: String, Sendable, CaseIterable {
    case platform
    case any

    /// Longest topic level or property id, in bytes.
    public static let maximumNameBytes = 64
    /// Longest product id under the platform rules.
    public static let maximumPlatformProductBytes = 32

    /// Whether `level` may be a ProductID.
    public func isValidProduct(_ level: some Collection<UInt8>) -> Bool {
        switch self {
        case .platform:
            return (1...Self.maximumPlatformProductBytes).contains(level.count)
                && level.allSatisfy { Self.isAlphanumeric($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
        case .any:
            return isValidAnyLevel(level)
        }
    }

    /// Whether `level` may be a DeviceName.
    public func isValidDevice(_ level: some Collection<UInt8>) -> Bool {
        switch self {
        case .platform:
            return (1...Self.maximumNameBytes).contains(level.count) && level.allSatisfy { byte in
                Self.isAlphanumeric(byte) || Self.platformDevicePunctuation.contains(byte)
            }
        case .any:
            return isValidAnyLevel(level)
        }
    }

    /// Whether `id` may name a property (a key of `params`), an event id or an event type.
    public func isValidPropertyID(_ id: String) -> Bool {
        // Checked over the string's bytes in place (iterating `utf8` costs ten times more per byte).
        id.utf8.withContiguousStorageIfAvailable { isValidPropertyID(bytes: $0) }
            ?? isValidPropertyID(bytes: Array(id.utf8))
    }

    private func isValidPropertyID(bytes: some Collection<UInt8>) -> Bool {
        guard let first = bytes.first, bytes.count <= Self.maximumNameBytes else { return false }
        switch self {
        case .platform:
            guard Self.isLetter(first) || first == UInt8(ascii: "_") else { return false }
            return bytes.allSatisfy { Self.isAlphanumeric($0) || $0 == UInt8(ascii: "_") }
        case .any:
            return !Self.hasControlCharacter(bytes)
                && !bytes.contains { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "@") }
        }
    }

    private func isValidAnyLevel(_ level: some Collection<UInt8>) -> Bool {
        guard (1...Self.maximumNameBytes).contains(level.count), !Self.hasControlCharacter(level) else { return false }
        return !level.contains { $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "#") || $0 == UInt8(ascii: "/") }
    }

    private static let platformDevicePunctuation: [UInt8] = Array("_.:@-".utf8)

    private static func isLetter(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        isLetter(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    /// Whether UTF-8 `bytes` hold a C0 control, DEL or a C1 control (U+0080–U+009F, encoded `C2 80`…`C2 9F`).
    static func hasControlCharacter(_ bytes: some Collection<UInt8>) -> Bool {
        var previous: UInt8 = 0
        for byte in bytes {
            if byte < 0x20 || byte == 0x7F || (previous == 0xC2 && (0x80...0x9F).contains(byte)) { return true }
            previous = byte
        }
        return false
    }
}

/// The store's bounds on what devices can make it grow (SPEC §5 "Limits", config `limits`).
public struct IngestLimits: Sendable, Equatable {
    /// A report with more params is rejected (`too_many_properties`).
    public var propertiesPerReport: Int
    /// Readings of further metrics of a device are not made (`series_limit`).
    public var seriesPerDevice: Int
    /// Readings of further devices are not made (`device_limit`).
    public var devices: Int

    public static let `default` = IngestLimits(propertiesPerReport: 256, seriesPerDevice: 1024, devices: 100_000)

    public init(propertiesPerReport: Int, seriesPerDevice: Int, devices: Int) {
        self.propertiesPerReport = propertiesPerReport
        self.seriesPerDevice = seriesPerDevice
        self.devices = devices
    }
}
