import ThingLogCore

/// Reads of one series out of its device's frames. A frame row holds up to eight series; the device's layouts say in
/// which column each series sits, so a read of one series scans the device's frames in the time range, keeps those
/// whose layout holds it and takes that column alone (4–6× quicker than joining every frame with its layout, as the
/// `readings` and `ppm` views do).
extension StoreReader {
    /// Where a series (raw id, or −id for a ppm series) sits in its device's frames: per layout, the column.
    struct SeriesColumns {
        var layouts: [(id: Int64, position: Int64)]

        /// `CASE layout_id WHEN … THEN <prefix><position> … END`: the series' value of a frame row.
        func pick(_ prefix: String) -> String {
            pick { "\(prefix)\($0)" }
        }

        /// The series' Rs/R0 in a `ppm_frames` row, as stored (its column, or the nearest one before it that is not
        /// NULL); meaningless when its quality has no ratio.
        var ratio: String { pick { Schema.ppmRatio(position: String($0)) } }

        /// The series' quality code in a `ppm_frames` row (three bits of `qualities` per column).
        var quality: String { pick { "((qualities >> \(3 * $0)) & 7)" } }

        private func pick(_ column: (Int64) -> String) -> String {
            "CASE layout_id " + layouts.map { "WHEN \($0.id) THEN \(column($0.position)) " }.joined() + "END"
        }

        /// The frame rows that hold the series: a condition on `layout_id`.
        var filter: String { "layout_id IN (" + layouts.map { String($0.id) }.joined(separator: ",") + ")" }

        /// A device with this many layouts for one series (a fleet that varies what it sends) is read through the
        /// views instead: the statement would grow with it.
        static let maximumLayouts = 256
    }

    func columns(ofSeriesKey key: Int64, device: Int64) throws -> SeriesColumns? {
        let layouts = try database.rows("""
            SELECT l.id, s.position FROM layouts l JOIN layout_series s ON s.layout_id = l.id
            WHERE l.device_id = ? AND s.series_id = ?
            """, [.integer(device), .integer(key)]).compactMap { row -> (id: Int64, position: Int64)? in
                guard let id = row[0].int64Value, let position = row[1].int64Value else { return nil }
                return (id, position)
            }
        return layouts.count <= SeriesColumns.maximumLayouts ? SeriesColumns(layouts: layouts) : nil
    }

    /// A series' samples with from ≤ ts < to in time order; for ppm series the usable estimates only.
    public func samples(of series: Series, from: Int64, to: Int64, _ body: (Int64, Double) throws -> Void) throws {
        if series.isPPM {
            try ppmRows(of: series, from: from, to: to, usableOnly: true) { row in
                if let ppm = row.ppm { try body(row.time, ppm) }
            }
            return
        }
        var values: [SQLiteValue] = [.integer(series.deviceID), .integer(from), .integer(to)]
        let sql: String
        if let columns = try columns(ofSeriesKey: series.id, device: series.deviceID) {
            guard !columns.layouts.isEmpty else { return }
            sql = """
                SELECT ts, \(columns.pick("v")) FROM frames
                WHERE device_id = ? AND ts >= ? AND ts < ? AND \(columns.filter) ORDER BY ts
                """
        } else {
            sql = "SELECT ts, value FROM readings WHERE device_id = ? AND ts >= ? AND ts < ? AND series_id = ? "
                + "ORDER BY ts"
            values.append(.integer(series.id))
        }
        let statement = try database.prepare(sql)
        try statement.bind(values)
        while try statement.step() { try body(statement.int64(0), statement.double(1)) }
    }

    /// Every ppm row of a ppm series with from ≤ ts < to in time order, whatever its quality (`usableOnly`: the
    /// usable ones with a ppm). The ppm is computed from the stored ratio with the series' curve, as the `ppm` view
    /// computes it.
    public func ppmRows(of series: Series, from: Int64, to: Int64, usableOnly: Bool = false,
                        _ body: (PPMRow) throws -> Void) throws {
        guard let curve = try ppmCurve(ofSeries: series.id) else { return }
        var values: [SQLiteValue] = [.integer(series.deviceID), .integer(from), .integer(to)]
        let usable = usableOnly ? "WHERE quality <= \(PPMQuality.usableCodeLimit)" : ""
        let sql: String
        if let columns = try columns(ofSeriesKey: -series.id, device: series.deviceID) {
            guard !columns.layouts.isEmpty else { return }
            sql = """
                SELECT ts, ratio, quality FROM (
                    SELECT ts, \(columns.ratio) AS ratio, \(columns.quality) AS quality FROM ppm_frames
                    WHERE device_id = ? AND ts >= ? AND ts < ? AND \(columns.filter)) \(usable)
                ORDER BY ts
                """
        } else {
            sql = """
                SELECT ts, rs_r0, quality FROM (
                    SELECT ts, rs_r0, quality FROM ppm WHERE device_id = ? AND ts >= ? AND ts < ? AND series_id = ?)
                \(usable) ORDER BY ts
                """
            values.append(.integer(series.id))
        }
        let statement = try database.prepare(sql)
        try statement.bind(values)
        while try statement.step() {
            let quality = PPMQuality.allCases.first { $0.code == statement.int64(2) } ?? .warmup
            let ratio = quality.hasRatio && !statement.isNull(1) ? statement.double(1) : nil
            // NaN (0 · ∞) is NULL in SQL, so in the view too.
            let ppm = ratio.map(curve.ppm(at:)).flatMap { $0.isNaN ? nil : $0 }
            if usableOnly && ppm == nil { continue }
            try body(PPMRow(seriesID: series.id, time: statement.int64(0), ppm: ppm, ratio: ratio, quality: quality))
        }
    }

    /// The curve a ppm series was computed with (`ppm_series`).
    func ppmCurve(ofSeries id: Int64) throws -> PPMCurve? {
        guard let row = try database.rows("SELECT a, b, baseline FROM ppm_series WHERE id = ?", [.integer(id)]).first,
              let a = row[0].doubleValue, let b = row[1].doubleValue, let baseline = row[2].doubleValue else {
            return nil
        }
        return PPMCurve(a: a, b: b, baseline: baseline)
    }
}
