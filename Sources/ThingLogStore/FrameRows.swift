/// The frames (`frames` rows: a device's readings at one ts) of the open transaction, inserted `rowsPerStatement` at
/// a time in key order. A batch of live reports interleaves its devices; in key order one statement's rows land next
/// to each other in the table (a frame's insert was the writer's largest cost). The writer flushes them before
/// anything it does reads `frames`, and at the end of every write.
struct FrameRows {
    static let rowsPerStatement = 8

    private struct Key {
        var deviceID: Int64
        var ts: Int64
        var layoutID: Int64
    }

    private let insert: BatchedInsert
    private var keys: [Key] = []
    /// `FrameLayouts.width` values per row; NaN for none (stored readings are finite).
    private var values: [Double] = []

    init(database: Database) throws(SQLiteError) {
        let columns = (0..<FrameLayouts.width).map { "v\($0)" }.joined(separator: ", ")
        insert = try BatchedInsert(database: database,
                                   prefix: "INSERT INTO frames(device_id, ts, layout_id, \(columns)) VALUES ",
                                   parametersPerRow: 3 + FrameLayouts.width,
                                   rowsPerStatement: Self.rowsPerStatement)
    }

    /// Adds a frame: `readings` (at most `FrameLayouts.width`) in the order of its layout's series.
    mutating func add(deviceID: Int64, ts: Int64, layoutID: Int64,
                      readings: ArraySlice<(seriesID: Int64, value: Double)>) {
        keys.append(Key(deviceID: deviceID, ts: ts, layoutID: layoutID))
        for reading in readings { values.append(reading.value) }
        for _ in readings.count..<FrameLayouts.width { values.append(.nan) }
    }

    /// Inserts the frames waiting, in key order. They are dropped whether or not that succeeds: a failure fails the
    /// transaction (or the savepoint) they belong to.
    mutating func flush() throws {
        guard !keys.isEmpty else { return }
        defer { discard() }
        try insert.insert(keyOrder()) { statement, row, first in
            let key = keys[row]
            try statement.bind(key.deviceID, at: first)
            try statement.bind(key.ts, at: first + 1)
            try statement.bind(key.layoutID, at: first + 2)
            for column in 0..<FrameLayouts.width {
                let value = values[row * FrameLayouts.width + column]
                if value.isNaN {
                    try statement.bindNull(at: first + 3 + column)
                } else if abs(value) < 1e15, let integer = Int64(exactly: value) {
                    // Integral values bind as integers: the REAL column reads them back as reals but stores them in
                    // one or two bytes instead of eight.
                    try statement.bind(integer, at: first + 3 + column)
                } else {
                    try statement.bind(value, at: first + 3 + column)
                }
            }
        }
    }

    /// The rows' indices in key order. Rows are grouped by device in arrival order (a device's reports nearly always
    /// arrive in time order, so each group is usually in order already); a group that is not is sorted.
    private func keyOrder() -> [Int] {
        var groups: [[Int]] = []
        var groupOfDevice: [Int64: Int] = [:]
        for row in keys.indices {
            let device = keys[row].deviceID
            if let group = groupOfDevice[device] {
                groups[group].append(row)
            } else {
                groupOfDevice[device] = groups.count
                groups.append([row])
            }
        }
        func precedes(_ left: Int, _ right: Int) -> Bool {
            (keys[left].ts, keys[left].layoutID) < (keys[right].ts, keys[right].layoutID)
        }
        var order: [Int] = []
        order.reserveCapacity(keys.count)
        for group in groupOfDevice.sorted(by: { $0.key < $1.key }).map({ groups[$0.value] }) {
            let isInOrder = group.indices.dropFirst().allSatisfy { !precedes(group[$0], group[$0 - 1]) }
            order += isInOrder ? group : group.sorted(by: precedes)
        }
        return order
    }

    /// Drops the frames waiting (their transaction was rolled back).
    mutating func discard() {
        keys.removeAll(keepingCapacity: true)
        values.removeAll(keepingCapacity: true)
    }
}
