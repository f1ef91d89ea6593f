
/// One device's readings in time order, a timestamp at a time: at each distinct `time`, `values[i]` is the reading
/// of `metrics[i]` at that time, or NaN when the report had none (stored readings are always finite).
///
/// One cursor over the device's range of `frames` (primary key `(device_id, ts, layout_id)`): streaming, so memory
/// does not grow with history, and the readings of one report (same ts, one frame or a few) arrive together, as
/// compensation needs. Readings of series not asked for are skipped.
public final class DeviceFrames {
    public let metrics: [String]
    public private(set) var time: Int64 = .min
    public private(set) var values: [Double]
    private let cursor: Statement
    private let columns: Statement
    private let slots: [Int64: Int]
    /// Per layout, the slot in `values` of each column (nil: a series not asked for). Bounded like `FrameLayouts`.
    private var slotsOfLayout: [Int64: [Int?]] = [:]
    /// The last layout read and its slots: a device's frames nearly always repeat it.
    private var lastLayout: (id: Int64, slots: [Int?])?
    /// The cursor stands on a row not yet taken (the first of the next frame).
    private var hasRow: Bool

    /// Frames with `after < time ≤ through`.
    init(database: Database, deviceID: Int64, series: [(id: Int64, metric: String)], after: Int64?,
         through: Int64?) throws {
        metrics = series.map(\.metric)
        values = Array(repeating: .nan, count: series.count)
        slots = Dictionary(series.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { first, _ in first })
        cursor = try database.prepare("""
            SELECT ts, layout_id, v0, v1, v2, v3, v4, v5, v6, v7 FROM frames
            WHERE device_id = ? AND ts > ? AND ts <= ? ORDER BY ts, layout_id
            """)
        columns = try database.cachedStatement(
            "SELECT series_id FROM layout_series WHERE layout_id = ? ORDER BY position")
        try cursor.bind([.integer(deviceID), .integer(after ?? .min), .integer(through ?? .max)])
        hasRow = series.isEmpty ? false : try cursor.step()
    }

    /// Moves to the next timestamp; false at the end.
    public func next() throws -> Bool {
        var isFrame = false
        while hasRow {
            let rowTime = cursor.int64(0)
            if isFrame, rowTime != time { return true }
            for (column, slot) in try slots(ofLayout: cursor.int64(1)).enumerated() {
                guard let slot else { continue }
                if !isFrame {
                    isFrame = true
                    time = rowTime
                    for index in values.indices { values[index] = .nan }
                }
                values[slot] = cursor.double(2 + column)
            }
            hasRow = try cursor.step()
        }
        return isFrame
    }

    private func slots(ofLayout layout: Int64) throws -> [Int?] {
        if let lastLayout, lastLayout.id == layout { return lastLayout.slots }
        let found = try storedSlots(ofLayout: layout)
        lastLayout = (layout, found)
        return found
    }

    private func storedSlots(ofLayout layout: Int64) throws -> [Int?] {
        if let known = slotsOfLayout[layout] { return known }
        columns.rewind()
        defer { columns.rewind() }
        try columns.bind(layout, at: 1)
        var layoutSlots: [Int?] = []
        while try columns.step() { layoutSlots.append(slots[columns.int64(0)]) }
        if slotsOfLayout.count >= FrameLayouts.maximumCached { slotsOfLayout.removeAll() }
        slotsOfLayout[layout] = layoutSlots
        return layoutSlots
    }
}
