extension Schema {
    /// Readings as frames (issue 13): one row per report and device instead of one per reading. A frame holds up to
    /// `FrameLayouts.width` values in the REAL columns `v0`…`v7` (exact doubles, as before); its layout says which
    /// series each column belongs to. A report with more readings, or readings of a time that arrive later, take
    /// further frames at the same `(device_id, ts)`, each with its own layout. `readings` becomes a plain view of the
    /// same rows as before (`device_id, ts, series_id, value`), so every reader of readings — the shipped queries,
    /// `readings_v`, ad-hoc SQL in `sqlite3` — reads them as it did. Rows are copied in key order; the migration
    /// refuses to finish unless every reading came through. Ppm estimates are stored the same way (`ppm_frames`, `ppm`
    /// a view): they are derived, so the old table goes and the next `analyze` computes them again.
    static let version9 = """
    CREATE TABLE layouts(
        id INTEGER PRIMARY KEY,
        device_id INTEGER NOT NULL REFERENCES devices(id),
        series TEXT NOT NULL,           -- the series ids of columns v0, v1, … comma-separated (the lookup key)
        UNIQUE(device_id, series)
    );
    CREATE TABLE layout_series(
        layout_id INTEGER NOT NULL,
        position INTEGER NOT NULL,      -- the frame column: 0 is v0
        series_id INTEGER NOT NULL,
        PRIMARY KEY(layout_id, position)
    ) WITHOUT ROWID;
    CREATE TABLE frames(
        device_id INTEGER NOT NULL,
        ts INTEGER NOT NULL,
        layout_id INTEGER NOT NULL,
        v0 REAL, v1 REAL, v2 REAL, v3 REAL, v4 REAL, v5 REAL, v6 REAL, v7 REAL,
        PRIMARY KEY(device_id, ts, layout_id)
    ) WITHOUT ROWID;
    CREATE TEMP TABLE v9_parts AS
        SELECT device_id, ts, series_id,
               (ROW_NUMBER() OVER (PARTITION BY device_id, ts ORDER BY series_id) - 1) / 8 AS part
        FROM readings;
    CREATE TEMP TABLE v9_frames AS
        SELECT device_id, ts, group_concat(series_id) AS series
        FROM (SELECT * FROM v9_parts ORDER BY device_id, ts, part, series_id) GROUP BY device_id, ts, part;
    INSERT INTO layouts(device_id, series) SELECT DISTINCT device_id, series FROM v9_frames ORDER BY 1, 2;
    INSERT INTO layout_series(layout_id, position, series_id)
        SELECT l.id, j.key, j.value FROM layouts l, json_each('[' || l.series || ']') j;
    INSERT INTO frames(device_id, ts, layout_id, v0, v1, v2, v3, v4, v5, v6, v7)
        SELECT f.device_id, f.ts, l.id,
               MAX(CASE s.position WHEN 0 THEN r.value END), MAX(CASE s.position WHEN 1 THEN r.value END),
               MAX(CASE s.position WHEN 2 THEN r.value END), MAX(CASE s.position WHEN 3 THEN r.value END),
               MAX(CASE s.position WHEN 4 THEN r.value END), MAX(CASE s.position WHEN 5 THEN r.value END),
               MAX(CASE s.position WHEN 6 THEN r.value END), MAX(CASE s.position WHEN 7 THEN r.value END)
        FROM v9_frames f JOIN layouts l ON l.device_id = f.device_id AND l.series = f.series
        JOIN layout_series s ON s.layout_id = l.id
        JOIN readings r ON r.device_id = f.device_id AND r.ts = f.ts AND r.series_id = s.series_id
        GROUP BY f.device_id, f.ts, l.id ORDER BY f.device_id, f.ts, l.id;
    \(framesView(named: "readings_v9"))
    SELECT thinglog_check((SELECT COUNT(*) FROM readings) = (SELECT COUNT(value) FROM readings_v9)
                          AND (SELECT COUNT(*) FROM readings_v9) = (SELECT COUNT(value) FROM readings_v9),
                          'migration to schema 9 lost readings: nothing was changed');
    DROP VIEW readings_v9;
    DROP TABLE temp.v9_parts;
    DROP TABLE temp.v9_frames;
    DROP VIEW readings_v;
    DROP TABLE readings;
    \(framesView(named: "readings"))
    \(["frames", "layouts", "layout_series"].map(appendOnlyTriggers).joined())
    CREATE VIEW readings_v AS
        SELECT d.product AS product, d.name AS device, s.metric AS metric, r.ts AS ts, r.value AS value
        FROM readings r JOIN series s ON s.id = r.series_id JOIN devices d ON d.id = r.device_id;
    DROP VIEW ppm_v;
    DROP TABLE ppm;
    CREATE TABLE ppm_frames(
        device_id INTEGER NOT NULL,
        ts INTEGER NOT NULL,
        layout_id INTEGER NOT NULL,     -- its layout_series hold −ppm_series.id (the rollups' series_key)
        qualities INTEGER NOT NULL,     -- column i's quality code (0–4) in bits 3i…3i+2
        \((0..<FrameLayouts.width).map { "ppm\($0) REAL, ratio\($0) REAL" }.joined(separator: ",\n        ")),
        PRIMARY KEY(device_id, ts, layout_id)
    ) WITHOUT ROWID;
    \(ppmView)
    CREATE VIEW ppm_v AS
        SELECT d.product AS product, d.name AS device, s.sensor AS sensor, s.gas AS gas, p.ts AS ts, p.ppm AS ppm,
               p.rs_r0 AS rs_r0,
               CASE p.quality WHEN 0 THEN 'ok' WHEN 1 THEN 'out_of_range' WHEN 2 THEN 'saturated'
                              WHEN 3 THEN 'uncalibrated' ELSE 'warmup' END AS quality
        FROM ppm p JOIN ppm_series s ON s.id = p.series_id JOIN devices d ON d.id = p.device_id;
    DELETE FROM analysis_devices;
    """

    /// How many readings the store holds: per frame, the width of its layout (twice as quick as counting `readings`).
    static let readingCount = """
        SELECT COALESCE(SUM(n), 0) FROM frames f
        JOIN (SELECT layout_id, COUNT(*) AS n FROM layout_series GROUP BY layout_id) c ON c.layout_id = f.layout_id
        """

    /// Every ppm estimate `(device_id, series_id, ts, ppm, rs_r0, quality)` (quality 0 ok, 1 out_of_range,
    /// 2 saturated, 3 uncalibrated, 4 warmup), one row per column pair of `ppm_frames`.
    static var ppmView: String {
        func column(_ name: String) -> String {
            "CASE l.position " + (0..<FrameLayouts.width - 1).map { "WHEN \($0) THEN f.\(name)\($0) " }.joined()
                + "ELSE f.\(name)\(FrameLayouts.width - 1) END"
        }
        return """
        CREATE VIEW ppm AS
            SELECT f.device_id AS device_id, -l.series_id AS series_id, f.ts AS ts, \(column("ppm")) AS ppm,
                   \(column("ratio")) AS rs_r0, (f.qualities >> (3 * l.position)) & 7 AS quality
            FROM ppm_frames f JOIN layout_series l ON l.layout_id = f.layout_id;
        """
    }

    /// Every reading `(device_id, ts, series_id, value)`: each frame joined with its layout, one row per column.
    static func framesView(named name: String) -> String {
        """
    CREATE VIEW \(name) AS
        SELECT f.device_id AS device_id, f.ts AS ts, l.series_id AS series_id,
               CASE l.position WHEN 0 THEN f.v0 WHEN 1 THEN f.v1 WHEN 2 THEN f.v2 WHEN 3 THEN f.v3
                               WHEN 4 THEN f.v4 WHEN 5 THEN f.v5 WHEN 6 THEN f.v6 ELSE f.v7 END AS value
        FROM frames f JOIN layout_series l ON l.layout_id = f.layout_id;
    """
    }
}
