
/// One device's readings in time order, a timestamp at a time: at each distinct `time`, `values[i]` is the reading
/// of `metrics[i]` at that time, or NaN when the report had none (stored readings are always finite).
///
/// A k-way merge of one cursor per series, each walking the `(series_id, ts)` primary key: streaming, so memory does
/// not grow with history, and the readings of one report (same ts) arrive together, as compensation needs.
public final class DeviceFrames {
    public let metrics: [String]
    public private(set) var time: Int64 = .min
    public private(set) var values: [Double]
    private let cursors: [Statement]
    private var heads: [Int64?]

    /// Frames with `after < time ≤ through`.
    init(database: Database, series: [(id: Int64, metric: String)], after: Int64?, through: Int64?) throws {
        metrics = series.map(\.metric)
        values = Array(repeating: .nan, count: series.count)
        var cursors: [Statement] = []
        for entry in series {
            let cursor = try database.prepare("""
                SELECT ts, value FROM readings WHERE series_id = ? AND ts > ? AND ts <= ? ORDER BY ts
                """)
            try cursor.bind([.integer(entry.id), .integer(after ?? .min), .integer(through ?? .max)])
            cursors.append(cursor)
        }
        self.cursors = cursors
        heads = Array(repeating: nil, count: series.count)
        for index in cursors.indices { try advance(index) }
    }

    private func advance(_ index: Int) throws {
        heads[index] = try cursors[index].step() ? cursors[index].int64(0) : nil
    }

    /// Moves to the next timestamp; false at the end.
    public func next() throws -> Bool {
        var earliest: Int64?
        for case let head? in heads where earliest.map({ head < $0 }) ?? true { earliest = head }
        guard let earliest else { return false }
        time = earliest
        for index in heads.indices {
            if heads[index] == earliest {
                values[index] = cursors[index].double(1)
                try advance(index)
            } else {
                values[index] = .nan
            }
        }
        return true
    }
}
