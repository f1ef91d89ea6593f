import ThingLogCore

/// Appends one device's ppm estimates to `ppm_frames`: the estimates of one sample time (one per gas of each
/// sensor) share a row, up to `FrameLayouts.width` of them, their series named by a layout (as readings are).
public struct PPMWriter {
    /// Frames per INSERT statement: one `sqlite3_step` for 16 rows instead of 16.
    static let framesPerStatement = 16
    private let deviceID: Int64
    private let layouts: FrameLayouts
    private let batch: Statement
    private let single: Statement

    init(database: Database, deviceID: Int64, layouts: FrameLayouts) throws {
        self.deviceID = deviceID
        self.layouts = layouts
        let columns = (0..<FrameLayouts.width).map { "ppm\($0), ratio\($0), quality\($0)" }.joined(separator: ", ")
        let tuple = "(?, ?, ?" + String(repeating: ", ?", count: 3 * FrameLayouts.width) + ")"
        let insert = "INSERT INTO ppm_frames(device_id, ts, layout_id, \(columns)) VALUES "
        batch = try database.cachedStatement(
            insert + Array(repeating: tuple, count: Self.framesPerStatement).joined(separator: ", "))
        single = try database.cachedStatement(insert + tuple)
    }

    /// A frame to insert: its time, its layout, and where its rows are in `rows`.
    private struct Frame {
        var time: Int64
        var layout: Int64
        var rows: Range<Int>
    }

    /// Writes the device's rows, one buffer per series, each in time order, merged into frames by time.
    public func write(_ buffers: [[PPMRow]]) throws {
        var next = Array(repeating: 0, count: buffers.count)
        var rows: [PPMRow] = []
        var frames: [Frame] = []
        while true {
            var time = Int64.max
            for (buffer, index) in zip(buffers, next) where index < buffer.count {
                time = min(time, buffer[index].time)
            }
            guard time != .max else { break }
            var start = rows.count
            for series in buffers.indices where next[series] < buffers[series].count
                && buffers[series][next[series]].time == time {
                rows.append(buffers[series][next[series]])
                next[series] += 1
            }
            while start < rows.count {
                let end = min(start + FrameLayouts.width, rows.count)
                let layout = try layouts.id(deviceID: deviceID, series: rows[start..<end].map { -$0.seriesID })
                frames.append(Frame(time: time, layout: layout, rows: start..<end))
                start = end
            }
            guard frames.count >= Self.framesPerStatement else { continue }
            try insert(Array(frames.prefix(Self.framesPerStatement)), rows, into: batch)
            frames.removeFirst(Self.framesPerStatement)
            // Rows of the frames still waiting move to the front.
            let kept = frames.first?.rows.lowerBound ?? rows.count
            rows.removeFirst(kept)
            for index in frames.indices {
                frames[index].rows = frames[index].rows.lowerBound - kept..<frames[index].rows.upperBound - kept
            }
        }
        for frame in frames { try insert([frame], rows, into: single) }
    }

    private func insert(_ frames: [Frame], _ rows: [PPMRow], into statement: Statement) throws {
        statement.rewind()
        var parameter = 1
        for frame in frames {
            try statement.bind(deviceID, at: parameter)
            try statement.bind(frame.time, at: parameter + 1)
            try statement.bind(frame.layout, at: parameter + 2)
            parameter += 3
            for column in 0..<FrameLayouts.width {
                if column < frame.rows.count {
                    let row = rows[frame.rows.lowerBound + column]
                    try statement.bind(row.ppm, at: parameter)
                    try statement.bind(row.ratio, at: parameter + 1)
                    try statement.bind(row.quality.code, at: parameter + 2)
                } else {
                    for offset in 0..<3 { try statement.bindNull(at: parameter + offset) }
                }
                parameter += 3
            }
        }
        _ = try statement.step()
    }
}
