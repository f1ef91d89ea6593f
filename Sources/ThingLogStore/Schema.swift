
/// The store's schema and its forward-only migrations, versioned by `PRAGMA user_version` (SPEC §5).
///
/// Layout: readings are stored as `frames`, one row per report and device with up to eight values, clustered on
/// `(device_id, ts, layout_id)` (WITHOUT ROWID, version 9; `readings` is a view of them), so a device's history is
/// one contiguous scan; payloads are stored as shape and numbers (version 7); device names, metric names, topics,
/// methods and frame layouts are interned once. Raw history (`reports`, `frames`, `events`, `rejects`) refuses
/// UPDATE and DELETE through triggers.
enum Schema {
    /// Each entry migrates from version `index` to `index + 1`.
    static let migrations: [String] = [version1, version2, version3, version4, version5, version6, version7,
                                         version8, version9, version10]

    static var currentVersion: Int { migrations.count }

    /// The append-only tables of version 1 (version 9 replaced `readings` with `frames`, append-only too).
    static let appendOnlyTables = ["reports", "readings", "events", "rejects"]

    /// Rollups (SPEC §6 "Rollups"): per raw metric and ppm series, per 5-minute and 1-hour UTC bucket, count, mean,
    /// M2, min, max, first and last time; per device and hour, when it reported (`frame_rollup_1h`, for `coverage`).
    /// `rollup_complete_v` says up to when a device's rollups hold every reading: its analyzed time, or earlier when
    /// reports arrived since that carry older readings (late data analyze has not seen). Saved analysis states are
    /// dropped so that the next `analyze` builds the rollups of the whole history.
    static let version6 = """
    CREATE TABLE rollup_5m(
        series_key INTEGER NOT NULL,    -- series.id, or −ppm_series.id for a ppm series (usable estimates)
        slot INTEGER NOT NULL,          -- the bucket's number: it starts at slot × 5 min (epoch ms)
        count INTEGER NOT NULL,
        mean REAL NOT NULL,
        m2 REAL NOT NULL,               -- sum of squared deviations from the mean = m2 · 4^m2_shift
        m2_shift INTEGER NOT NULL,      -- 0 unless a value above 1e150 arrived
        min REAL NOT NULL,
        max REAL NOT NULL,
        first_offset INTEGER NOT NULL,  -- first and last sample time, in ms after the bucket start
        last_offset INTEGER NOT NULL,
        PRIMARY KEY(series_key, slot)
    ) WITHOUT ROWID;
    CREATE TABLE rollup_1h(
        series_key INTEGER NOT NULL,
        slot INTEGER NOT NULL,          -- starts at slot × 1 h
        count INTEGER NOT NULL,
        mean REAL NOT NULL,
        m2 REAL NOT NULL,
        m2_shift INTEGER NOT NULL,
        min REAL NOT NULL,
        max REAL NOT NULL,
        first_offset INTEGER NOT NULL,
        last_offset INTEGER NOT NULL,
        PRIMARY KEY(series_key, slot)
    ) WITHOUT ROWID;
    CREATE TABLE frame_rollup_1h(
        device_id INTEGER NOT NULL,
        slot INTEGER NOT NULL,          -- starts at slot × 1 h
        count INTEGER NOT NULL,         -- distinct sample times (reports with readings)
        first_offset INTEGER NOT NULL,  -- ms after the bucket start
        last_offset INTEGER NOT NULL,
        gaps TEXT NOT NULL,             -- gaps between consecutive sample times (FrameRollupRow.gapUnits):
                                        -- {"gap": times, ...} or [first gap, step, times of it, of the next, ...]
        PRIMARY KEY(device_id, slot)
    ) WITHOUT ROWID;
    \(rollupCompleteView)
    \(statisticsView("stats_5m_v", table: "rollup_5m", width: 300_000))
    \(statisticsView("stats_1h_v", table: "rollup_1h", width: 3_600_000))
    DELETE FROM analysis_devices;
    """

    /// Up to when a device's rollups hold every reading (schema 6, and again after schema 7 rebuilt `reports`).
    static let rollupCompleteView = """
    CREATE VIEW rollup_complete_v AS
        SELECT a.device_id AS device_id,
               MIN(a.through_ts + 1, COALESCE(late.earliest, a.through_ts + 1)) AS complete_before
        FROM analysis_devices a LEFT JOIN (
            SELECT r.device_id AS device_id, MIN(r.received_at + r.ts_offset) AS earliest
            FROM reports r JOIN analysis_devices x ON x.device_id = r.device_id
            WHERE r.id > (SELECT MIN(through_report) FROM analysis_devices) AND r.id > x.through_report
            GROUP BY r.device_id
        ) late ON late.device_id = a.device_id
        WHERE a.through_ts IS NOT NULL;
    """

    static func appendOnlyTriggers(_ table: String) -> String {
        """

        CREATE TRIGGER \(table)_no_update BEFORE UPDATE ON \(table)
            BEGIN SELECT RAISE(ABORT, '\(table) is append-only'); END;
        CREATE TRIGGER \(table)_no_delete BEFORE DELETE ON \(table)
            BEGIN SELECT RAISE(ABORT, '\(table) is append-only'); END;
        """
    }

    private static func statisticsView(_ name: String, table: String, width: Int) -> String {
        let columns = """
            r.slot * \(width) AS bucket, r.count AS count, r.mean AS mean, r.min AS min, r.max AS max,
                   CASE WHEN r.count > 1 THEN sqrt(r.m2 / (r.count - 1)) * power(2.0, r.m2_shift) END AS stddev
            """
        return """
            CREATE VIEW \(name) AS
                SELECT d.product AS product, d.name AS device, s.metric AS metric, \(columns)
                FROM \(table) r JOIN series s ON s.id = r.series_key JOIN devices d ON d.id = s.device_id
                UNION ALL
                SELECT d.product, d.name, p.sensor || '.' || p.gas, \(columns)
                FROM \(table) r JOIN ppm_series p ON p.id = -r.series_key JOIN devices d ON d.id = p.device_id;
            """
    }

    /// A device is (product, name) compared as bytes (SPEC §5): `devices` is rebuilt with that key (same ids, so no
    /// raw row is touched), calibrations and alarms name their device by id, and every view puts `product` before
    /// `device`. Calibrations get their device id from the name (unique until this version); the derived tables are
    /// emptied so that the next `analyze` recomputes them with the new identity.
    static let version5 = """
    DROP VIEW readings_v;
    DROP VIEW reports_v;
    DROP VIEW events_v;
    DROP VIEW ppm_v;
    DROP VIEW alarms_v;
    CREATE TABLE devices_v5(
        id INTEGER PRIMARY KEY,
        product TEXT NOT NULL,
        name TEXT NOT NULL,
        last_receive_ts INTEGER,       -- ts of the device's latest report timed by receive time (SPEC §5)
        UNIQUE(product, name)
    );
    INSERT INTO devices_v5(id, product, name, last_receive_ts) SELECT id, product, name, last_receive_ts FROM devices;
    DROP TABLE devices;
    ALTER TABLE devices_v5 RENAME TO devices;

    ALTER TABLE calibrations ADD COLUMN device_id INTEGER REFERENCES devices(id);
    DROP TRIGGER calibrations_no_update;
    UPDATE calibrations SET device_id = (SELECT id FROM devices WHERE devices.name = calibrations.device);
    CREATE TRIGGER calibrations_no_update BEFORE UPDATE ON calibrations
        BEGIN SELECT RAISE(ABORT, 'calibrations is append-only'); END;
    DROP INDEX calibrations_by_sensor;
    CREATE INDEX calibrations_by_sensor ON calibrations(device_id, sensor, effective_from);

    DROP TABLE alarms;
    CREATE TABLE alarms(
        id TEXT PRIMARY KEY,
        device_id INTEGER NOT NULL REFERENCES devices(id),
        rule TEXT NOT NULL,
        severity TEXT NOT NULL,
        metric TEXT,
        started_at INTEGER NOT NULL,
        fired_at INTEGER NOT NULL,
        ended_at INTEGER,
        last_sample_at INTEGER NOT NULL,
        peak REAL,
        peak_at INTEGER,
        threshold REAL
    );
    CREATE INDEX alarms_by_device ON alarms(device_id, ended_at);
    DELETE FROM ppm;
    DELETE FROM ppm_series;
    DELETE FROM analysis_devices;
    DELETE FROM analysis_state;

    CREATE VIEW readings_v AS
        SELECT d.product AS product, d.name AS device, s.metric AS metric, r.ts AS ts, r.value AS value
        FROM readings r JOIN series s ON s.id = r.series_id JOIN devices d ON d.id = s.device_id;
    CREATE VIEW reports_v AS
        SELECT r.id AS id, d.product AS product, d.name AS device, t.topic AS topic,
               COALESCE(m.name, json_extract(r.payload, '$.method')) AS method,
               r.received_at AS received_at, r.received_at + r.ts_offset AS ts, r.packet_id AS packet_id,
               (r.flags & 1) != 0 AS clock_skew, (r.flags & 2) != 0 AS out_of_range,
               (r.flags & 4) != 0 AS unknown_property, (r.flags & 8) != 0 AS redelivered,
               (r.flags & 16) != 0 AS receive_time, r.payload AS payload
        FROM reports r JOIN devices d ON d.id = r.device_id JOIN topics t ON t.id = r.topic_id
        LEFT JOIN methods m ON m.id = r.method_id;
    CREATE VIEW events_v AS
        SELECT d.product AS product, d.name AS device, e.ts AS ts, e.event_id AS event_id, e.type AS type,
               e.params AS params, e.report_id AS report_id
        FROM events e JOIN devices d ON d.id = e.device_id;
    CREATE VIEW ppm_v AS
        SELECT d.product AS product, d.name AS device, s.sensor AS sensor, s.gas AS gas, p.ts AS ts, p.ppm AS ppm,
               p.rs_r0 AS rs_r0,
               CASE p.quality WHEN 0 THEN 'ok' WHEN 1 THEN 'out_of_range' WHEN 2 THEN 'saturated'
                              WHEN 3 THEN 'uncalibrated' ELSE 'warmup' END AS quality
        FROM ppm p JOIN ppm_series s ON s.id = p.series_id JOIN devices d ON d.id = s.device_id;
    CREATE VIEW alarms_v AS
        SELECT a.id AS id, d.product AS product, d.name AS device, a.rule AS rule, a.severity AS severity,
               a.metric AS metric, a.started_at AS started_at, a.fired_at AS fired_at, a.ended_at AS ended_at,
               (COALESCE(a.ended_at, a.last_sample_at) - a.started_at) / 1000.0 AS duration_s, a.peak AS peak,
               a.peak_at AS peak_at, a.threshold AS threshold
        FROM alarms a JOIN devices d ON d.id = a.device_id;
    """

    /// What incremental `analyze` carries from one run to the next, per device: where it stopped (the last sample
    /// time and the newest report id it had seen), which calibrations it had applied, and the window and alarm
    /// state to continue from (an opaque blob that analyze rewrites; it recomputes a device whose blob it cannot read).
    /// The `ppm` table is rebuilt with `quality` as a small integer code (a third smaller); `ppm_v` still shows the
    /// names. Analysis results of version 3 are recomputed by the next `analyze` (its configuration fingerprint
    /// changes with the analysis semantics version).
    static let version4 = """
    DROP VIEW ppm_v;
    DROP TABLE ppm;
    CREATE TABLE ppm(
        series_id INTEGER NOT NULL,
        ts INTEGER NOT NULL,
        ppm REAL,
        rs_r0 REAL,
        quality INTEGER NOT NULL,       -- 0 ok, 1 out_of_range, 2 saturated, 3 uncalibrated, 4 warmup
        PRIMARY KEY(series_id, ts)
    ) WITHOUT ROWID;
    CREATE VIEW ppm_v AS
        SELECT d.name AS device, s.sensor AS sensor, s.gas AS gas, p.ts AS ts, p.ppm AS ppm, p.rs_r0 AS rs_r0,
               CASE p.quality WHEN 0 THEN 'ok' WHEN 1 THEN 'out_of_range' WHEN 2 THEN 'saturated'
                              WHEN 3 THEN 'uncalibrated' ELSE 'warmup' END AS quality
        FROM ppm p JOIN ppm_series s ON s.id = p.series_id JOIN devices d ON d.id = s.device_id;
    DELETE FROM ppm_series;
    DELETE FROM alarms;
    CREATE TABLE analysis_devices(
        device_id INTEGER PRIMARY KEY REFERENCES devices(id),
        through_ts INTEGER,
        through_report INTEGER NOT NULL,
        calibrations_through INTEGER NOT NULL,
        state BLOB NOT NULL
    );
    CREATE INDEX alarms_by_device ON alarms(device, ended_at);
    """

    /// Derived tables written by `analyze` (SPEC §6). They are not raw history: a rerun replaces them.
    static let version3 = """
    CREATE TABLE ppm_series(
        id INTEGER PRIMARY KEY,
        device_id INTEGER NOT NULL REFERENCES devices(id),
        sensor TEXT NOT NULL,
        gas TEXT NOT NULL,
        UNIQUE(device_id, sensor, gas)
    );
    CREATE TABLE ppm(
        series_id INTEGER NOT NULL,
        ts INTEGER NOT NULL,
        ppm REAL,
        rs_r0 REAL,
        quality TEXT NOT NULL,
        PRIMARY KEY(series_id, ts)
    ) WITHOUT ROWID;
    CREATE TABLE alarms(
        id TEXT PRIMARY KEY,
        device TEXT NOT NULL,
        rule TEXT NOT NULL,
        severity TEXT NOT NULL,
        metric TEXT,
        started_at INTEGER NOT NULL,
        fired_at INTEGER NOT NULL,
        ended_at INTEGER,
        last_sample_at INTEGER NOT NULL,
        peak REAL,
        peak_at INTEGER,
        threshold REAL
    );
    CREATE TABLE analysis_state(key TEXT PRIMARY KEY, value INTEGER) WITHOUT ROWID;
    CREATE VIEW ppm_v AS
        SELECT d.name AS device, s.sensor AS sensor, s.gas AS gas, p.ts AS ts, p.ppm AS ppm, p.rs_r0 AS rs_r0,
               p.quality AS quality
        FROM ppm p JOIN ppm_series s ON s.id = p.series_id JOIN devices d ON d.id = s.device_id;
    CREATE VIEW alarms_v AS
        SELECT id, device, rule, severity, metric, started_at, fired_at, ended_at,
               (COALESCE(ended_at, last_sample_at) - started_at) / 1000.0 AS duration_s, peak, peak_at, threshold
        FROM alarms;
    """

    /// Calibration history (SPEC §4 `calibrate --save`): analyze uses, per sample, the latest calibration effective
    /// at or before it. Append-only like raw history: a new calibration supersedes, never rewrites.
    static let version2 = """
    CREATE TABLE calibrations(
        id INTEGER PRIMARY KEY,
        device TEXT NOT NULL,
        sensor TEXT NOT NULL,
        r0_ohms REAL NOT NULL,
        effective_from INTEGER NOT NULL,    -- epoch ms: the calibration window's end
        window_from INTEGER NOT NULL,
        samples INTEGER NOT NULL,
        rs_stddev_ohms REAL,
        compensated INTEGER NOT NULL,
        created_at INTEGER NOT NULL
    );
    CREATE INDEX calibrations_by_sensor ON calibrations(device, sensor, effective_from);
    CREATE TRIGGER calibrations_no_update BEFORE UPDATE ON calibrations
        BEGIN SELECT RAISE(ABORT, 'calibrations is append-only'); END;
    CREATE TRIGGER calibrations_no_delete BEFORE DELETE ON calibrations
        BEGIN SELECT RAISE(ABORT, 'calibrations is append-only'); END;
    """

    static let version1 = """
    CREATE TABLE devices(
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        product TEXT NOT NULL,
        last_receive_ts INTEGER        -- ts of the device's latest report timed by receive time (SPEC §5)
    );
    CREATE TABLE series(
        id INTEGER PRIMARY KEY,
        device_id INTEGER NOT NULL REFERENCES devices(id),
        metric TEXT NOT NULL,
        UNIQUE(device_id, metric)
    );
    CREATE TABLE topics(id INTEGER PRIMARY KEY, topic TEXT NOT NULL UNIQUE);
    CREATE TABLE methods(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
    INSERT INTO methods(name) VALUES ('report'), ('report_info'), ('get_status'), ('control_reply'),
        ('clear_control'), ('report_reply'), ('report_info_reply'), ('get_status_reply'), ('control'),
        ('clear_control_reply'), ('event_post'), ('events_post'), ('event_reply'), ('events_reply'), ('action'),
        ('action_reply');
    CREATE TABLE reports(
        id INTEGER PRIMARY KEY,
        device_id INTEGER NOT NULL REFERENCES devices(id),
        topic_id INTEGER NOT NULL REFERENCES topics(id),
        method_id INTEGER REFERENCES methods(id),   -- NULL: no method or one outside protocol.md
        received_at INTEGER NOT NULL,               -- epoch ms
        ts_offset INTEGER NOT NULL,                 -- ts − received_at: the time given to the readings
        packet_id INTEGER,                          -- MQTT packet identifier (QoS 1)
        flags INTEGER NOT NULL,                     -- 1 clock_skew, 2 out_of_range, 4 unknown_property,
                                                    -- 8 redelivered (MQTT DUP), 16 timed by receive time,
                                                    -- 32 no readings
        payload TEXT NOT NULL
    );
    -- Whole-message duplicates are found here only for reports whose readings cannot tell (timed by receive
    -- time, or without readings); a report with a device timestamp is a duplicate when all its readings are.
    CREATE INDEX reports_by_device_time ON reports(device_id, received_at) WHERE (flags & 48) != 0;
    CREATE TABLE readings(
        series_id INTEGER NOT NULL,
        ts INTEGER NOT NULL,
        value REAL NOT NULL,
        PRIMARY KEY(series_id, ts)
    ) WITHOUT ROWID;
    CREATE TABLE events(
        report_id INTEGER NOT NULL REFERENCES reports(id),
        device_id INTEGER NOT NULL REFERENCES devices(id),
        ts INTEGER NOT NULL,
        event_id TEXT NOT NULL,
        type TEXT,
        params TEXT NOT NULL
    );
    CREATE INDEX events_by_device_time ON events(device_id, ts);
    CREATE TABLE rejects(
        id INTEGER PRIMARY KEY,
        received_at INTEGER NOT NULL,
        topic TEXT,
        reason TEXT NOT NULL,
        detail TEXT NOT NULL,
        size INTEGER NOT NULL,
        bytes BLOB NOT NULL               -- the first 64 KiB
    );
    CREATE TABLE counters(name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;

    CREATE VIEW readings_v AS
        SELECT d.name AS device, s.metric AS metric, r.ts AS ts, r.value AS value
        FROM readings r JOIN series s ON s.id = r.series_id JOIN devices d ON d.id = s.device_id;
    CREATE VIEW reports_v AS
        SELECT r.id AS id, d.name AS device, d.product AS product, t.topic AS topic,
               COALESCE(m.name, json_extract(r.payload, '$.method')) AS method,
               r.received_at AS received_at, r.received_at + r.ts_offset AS ts, r.packet_id AS packet_id,
               (r.flags & 1) != 0 AS clock_skew, (r.flags & 2) != 0 AS out_of_range,
               (r.flags & 4) != 0 AS unknown_property, (r.flags & 8) != 0 AS redelivered,
               (r.flags & 16) != 0 AS receive_time, r.payload AS payload
        FROM reports r JOIN devices d ON d.id = r.device_id JOIN topics t ON t.id = r.topic_id
        LEFT JOIN methods m ON m.id = r.method_id;
    CREATE VIEW events_v AS
        SELECT d.name AS device, e.ts AS ts, e.event_id AS event_id, e.type AS type, e.params AS params,
               e.report_id AS report_id
        FROM events e JOIN devices d ON d.id = e.device_id;
    CREATE VIEW rejects_v AS
        SELECT id, received_at, topic, reason, detail, size, bytes FROM rejects;
    """ + appendOnlyTables.map(appendOnlyTriggers).joined()
}
