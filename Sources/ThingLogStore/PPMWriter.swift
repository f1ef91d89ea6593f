import ThingLogCore

/// Appends one device's ppm estimates to `ppm_frames`: the estimates of one sample time (one per gas of each
/// sensor) share a row, up to `FrameLayouts.width` of them, their series named by a layout (as readings are).
public struct PPMWriter {
    private let deviceID: Int64
    private let layouts: FrameLayouts
    private let insert: Statement

    init(database: Database, deviceID: Int64, layouts: FrameLayouts) throws {
        self.deviceID = deviceID
        self.layouts = layouts
        let columns = (0..<FrameLayouts.width).map { "ppm\($0), ratio\($0), quality\($0)" }.joined(separator: ", ")
        insert = try database.cachedStatement("INSERT INTO ppm_frames(device_id, ts, layout_id, \(columns)) "
            + "VALUES (?, ?, ?" + String(repeating: ", ?", count: 3 * FrameLayouts.width) + ")")
    }

    /// Writes the device's rows, one buffer per series, each in time order, merged into frames by time.
    public func write(_ buffers: [[PPMRow]]) throws {
        var next = Array(repeating: 0, count: buffers.count)
        var frame: [PPMRow] = []
        while true {
            var time = Int64.max
            for (buffer, index) in zip(buffers, next) where index < buffer.count {
                time = min(time, buffer[index].time)
            }
            guard time != .max else { return }
            frame.removeAll(keepingCapacity: true)
            for series in buffers.indices where next[series] < buffers[series].count
                && buffers[series][next[series]].time == time {
                frame.append(buffers[series][next[series]])
                next[series] += 1
            }
            var start = 0
            while start < frame.count {
                let end = min(start + FrameLayouts.width, frame.count)
                try insert(frame[start..<end], at: time)
                start = end
            }
        }
    }

    private func insert(_ rows: ArraySlice<PPMRow>, at time: Int64) throws {
        let layout = try layouts.id(deviceID: deviceID, series: rows.map { -$0.seriesID })
        insert.rewind()
        try insert.bind(deviceID, at: 1)
        try insert.bind(time, at: 2)
        try insert.bind(layout, at: 3)
        for column in 0..<FrameLayouts.width {
            let parameter = 4 + 3 * column
            guard column < rows.count else {
                for offset in 0..<3 { try insert.bindNull(at: parameter + offset) }
                continue
            }
            let row = rows[rows.startIndex + column]
            try insert.bind(row.ppm, at: parameter)
            try insert.bind(row.ratio, at: parameter + 1)
            try insert.bind(row.quality.code, at: parameter + 2)
        }
        _ = try insert.step()
    }
}
