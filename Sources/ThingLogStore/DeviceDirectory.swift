
/// A device of the store: its id, product and name (SPEC §5: a device is its product and name, compared as bytes).
public struct StoredDevice: Sendable, Equatable {
    public var id: Int64
    public var product: String
    public var name: String

    public init(id: Int64, product: String, name: String) {
        self.id = id
        self.product = product
        self.name = name
    }

    /// `PRODUCT/NAME`: unambiguous, as neither level can hold a `/`.
    public var identity: String { "\(product)/\(name)" }
}

/// Finds devices by the `--device` forms `NAME` and `PRODUCT/NAME` (SPEC §4 `export`).
public enum DeviceDirectory {
    /// A bare name that exists in several products: the caller reports it as a usage error.
    public struct AmbiguousName: Error, CustomStringConvertible, Sendable {
        public let name: String
        public let products: [String]
        public var description: String {
            "device \"\(name)\" exists in several products (\(products.joined(separator: ", "))): "
                + "name it as PRODUCT/NAME"
        }
    }

    /// The devices `reference` names: none when no device has that name, one otherwise; throws `AmbiguousName` for a
    /// bare name that several products use.
    public static func find(_ reference: String, in database: Database) throws -> [StoredDevice] {
        let rows: [[SQLiteValue]]
        if let slash = reference.utf8.firstIndex(of: UInt8(ascii: "/")) {
            let product = String(reference[..<slash]), name = String(reference[reference.index(after: slash)...])
            rows = try database.rows("SELECT id, product, name FROM devices WHERE product = ? AND name = ?",
                                     [.text(product), .text(name)])
        } else {
            rows = try database.rows("SELECT id, product, name FROM devices WHERE name = ? ORDER BY product",
                                     [.text(reference)])
        }
        let devices = rows.compactMap { row -> StoredDevice? in
            guard let id = row[0].int64Value, let product = row[1].stringValue, let name = row[2].stringValue else {
                return nil
            }
            return StoredDevice(id: id, product: product, name: name)
        }
        if devices.count > 1 { throw AmbiguousName(name: reference, products: devices.map(\.product)) }
        return devices
    }

    /// The ids of every device `references` name (unknown names match nothing).
    public static func ids(_ references: [String], in database: Database) throws -> [Int64] {
        try references.flatMap { try find($0, in: database).map(\.id) }
    }
}
