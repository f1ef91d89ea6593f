import ThingLogCore

extension Schema {
    /// Ppm estimates as ratios (issue 13): every gas of one sensor is the sensor's Rs/R0 through the gas's curve
    /// (mq-sensors.md §1 step 5, `ppm = a · ratio^b + baseline`), so `ppm_frames` keeps the ratios and `ppm_series`
    /// the curves, and the `ppm` view computes each ppm with the same operations `analyze` uses, bit for bit. Within
    /// a frame a ratio is stored once: a gas whose ratio equals the last one stored before it in the row (the
    /// sensor's other gases) holds NULL, and its ratio is the nearest column before it that is not NULL. A gas with
    /// no ratio (quality saturated or uncalibrated) reads NULL whatever its column holds. The estimates are derived,
    /// so the old ones go and the next `analyze` computes them again.
    static let version10 = """
    DROP VIEW ppm_v;
    DROP VIEW ppm;
    DROP TABLE ppm_frames;
    DELETE FROM rollup_5m WHERE series_key < 0;
    DELETE FROM rollup_1h WHERE series_key < 0;
    DROP TABLE ppm_series;
    CREATE TABLE ppm_series(
        id INTEGER PRIMARY KEY,
        device_id INTEGER NOT NULL REFERENCES devices(id),
        sensor TEXT NOT NULL,
        gas TEXT NOT NULL,
        a REAL NOT NULL,                -- the gas curve: ppm = a · rs_r0^b + baseline
        b REAL NOT NULL,
        baseline REAL NOT NULL,
        UNIQUE(device_id, sensor, gas)
    );
    CREATE TABLE ppm_frames(
        device_id INTEGER NOT NULL,
        ts INTEGER NOT NULL,
        layout_id INTEGER NOT NULL,     -- its layout_series hold −ppm_series.id (the rollups' series_key)
        qualities INTEGER NOT NULL,     -- column i's quality code (0–4) in bits 3i…3i+2
        \((0..<FrameLayouts.width).map { "ratio\($0) REAL" }.joined(separator: ", ")),
        PRIMARY KEY(device_id, ts, layout_id)
    ) WITHOUT ROWID;
    CREATE VIEW ppm AS
        SELECT device_id, series_id, ts, a * pow(rs_r0, b) + baseline AS ppm, rs_r0, quality
        FROM (SELECT f.device_id AS device_id, -l.series_id AS series_id, f.ts AS ts, s.a AS a, s.b AS b,
                     s.baseline AS baseline, (f.qualities >> (3 * l.position)) & 7 AS quality,
                     CASE WHEN (f.qualities >> (3 * l.position)) & 7 IN (\(codesWithoutRatio)) THEN NULL
                          ELSE \(ppmRatio(position: "l.position", prefix: "f.")) END AS rs_r0
              FROM ppm_frames f JOIN layout_series l ON l.layout_id = f.layout_id
              JOIN ppm_series s ON s.id = -l.series_id);
    CREATE VIEW ppm_v AS
        SELECT d.product AS product, d.name AS device, s.sensor AS sensor, s.gas AS gas, p.ts AS ts, p.ppm AS ppm,
               p.rs_r0 AS rs_r0,
               CASE p.quality WHEN 0 THEN 'ok' WHEN 1 THEN 'out_of_range' WHEN 2 THEN 'saturated'
                              WHEN 3 THEN 'uncalibrated' ELSE 'warmup' END AS quality
        FROM ppm p JOIN ppm_series s ON s.id = p.series_id JOIN devices d ON d.id = p.device_id;
    DELETE FROM analysis_devices;
    """

    /// The quality codes of estimates without a ratio (saturated, uncalibrated), for SQL.
    static var codesWithoutRatio: String {
        PPMQuality.allCases.filter { !$0.hasRatio }.map { String($0.code) }.joined(separator: ", ")
    }

    /// The ratio of the gas in column `position` of a `ppm_frames` row: its column, or the nearest one before it that
    /// is not NULL (SQL; `position` an expression, or a literal column number).
    static func ppmRatio(position: String, prefix: String = "") -> String {
        func nearest(_ column: Int) -> String {
            column == 0 ? "\(prefix)ratio0"
                : "COALESCE(" + (0...column).reversed().map { "\(prefix)ratio\($0)" }.joined(separator: ", ") + ")"
        }
        if let column = Int(position) { return nearest(column) }
        return "CASE \(position) " + (0..<FrameLayouts.width - 1).map { "WHEN \($0) THEN \(nearest($0)) " }.joined()
            + "ELSE \(nearest(FrameLayouts.width - 1)) END"
    }
}
