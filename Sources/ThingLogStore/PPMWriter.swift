import ThingLogCore

/// Appends one device's ppm estimates to `ppm_frames`: the estimates of one sample time (one per gas of each
/// sensor) share a row, up to `FrameLayouts.width` of them, their series named by a layout (as readings are), their
/// quality codes packed three bits each into `qualities`. A row stores ratios, not ppm (schema version 10): each
/// only when it differs from the last one stored before it in the row (the gases of one sensor share theirs).
public struct PPMWriter {
    private let deviceID: Int64
    private let layouts: FrameLayouts
    /// 16 frames per statement.
    private let insert: BatchedInsert

    /// A device's estimates grouped into frames: merged from per-series buffers on the analysis thread, so the
    /// writer thread only binds them.
    package struct Frames: Sendable {
        var rows: [PPMRow] = []
        /// Per frame: its time, the −ids of its series (the layout key), its rows in `rows`.
        var frames: [(time: Int64, series: [Int64], rows: Range<Int>)] = []

        /// Merges one buffer per series, each in time order, by time.
        package init(_ buffers: [[PPMRow]]) {
            var next = Array(repeating: 0, count: buffers.count)
            var lastSeries: [Int64] = []
            rows.reserveCapacity(buffers.reduce(0) { $0 + $1.count })
            while true {
                var time = Int64.max
                for (buffer, index) in zip(buffers, next) where index < buffer.count {
                    time = min(time, buffer[index].time)
                }
                guard time != .max else { return }
                var start = rows.count
                for series in buffers.indices where next[series] < buffers[series].count
                    && buffers[series][next[series]].time == time {
                    rows.append(buffers[series][next[series]])
                    next[series] += 1
                }
                while start < rows.count {
                    let end = min(start + FrameLayouts.width, rows.count)
                    // Frames nearly always repeat the previous one's series: share its array, allocate none.
                    if !rows[start..<end].elementsEqual(lastSeries, by: { $0.seriesID == -$1 }) {
                        lastSeries = rows[start..<end].map { -$0.seriesID }
                    }
                    frames.append((time, lastSeries, start..<end))
                    start = end
                }
            }
        }
    }

    init(database: Database, deviceID: Int64, layouts: FrameLayouts) throws {
        self.deviceID = deviceID
        self.layouts = layouts
        let columns = (0..<FrameLayouts.width).map { "ratio\($0)" }.joined(separator: ", ")
        let prefix = "INSERT INTO ppm_frames(device_id, ts, layout_id, qualities, \(columns)) VALUES "
        insert = try BatchedInsert(database: database, prefix: prefix, parametersPerRow: 4 + FrameLayouts.width,
                                   rowsPerStatement: 16)
    }

    /// Writes the device's frames.
    package func write(_ merged: Frames) throws {
        try insert.insert(merged.frames) { statement, frame, first in
            try statement.bind(deviceID, at: first)
            try statement.bind(frame.time, at: first + 1)
            try statement.bind(try layouts.id(deviceID: deviceID, series: frame.series), at: first + 2)
            var qualities: Int64 = 0
            for (column, index) in frame.rows.enumerated() {
                qualities |= merged.rows[index].quality.code << (3 * Int64(column))
            }
            try statement.bind(qualities, at: first + 3)
            var lastStored: UInt64?   // as bits: equal ratios only (a ratio is never negative, so never −0)
            for column in 0..<FrameLayouts.width {
                let parameter = first + 4 + column
                guard column < frame.rows.count, let ratio = merged.rows[frame.rows.lowerBound + column].ratio,
                      ratio.bitPattern != lastStored else {
                    try statement.bindNull(at: parameter)
                    continue
                }
                // A NaN would be stored as NULL and read as the column before it: the analysis never makes one.
                precondition(!ratio.isNaN, "a ppm row's ratio is never NaN")
                try statement.bind(ratio, at: parameter)
                lastStored = ratio.bitPattern
            }
        }
    }
}
