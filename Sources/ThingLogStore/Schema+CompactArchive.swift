extension Schema {
    /// The raw archive, compact (issue 13): each payload is stored as its shape (`report_shapes`, once per device,
    /// topic and method) plus its numbers (`reports.content`, varints), which give it back byte for byte, or raw
    /// when it has no shape (`PayloadShape`: a payload holding a byte 0x00–0x04). Topic and method move to the shape
    /// row. `reports_v.payload` rebuilds the bytes with `thinglog_payload` (a function of thinglog's connections:
    /// plain `sqlite3` reads every other view).
    /// The old rows are rewritten with the same ids; checks stop the migration unless every report came through and
    /// gives its payload back byte for byte (a one-time check of each row; the writer relies on the split's exactness).
    static let version7 = """
    CREATE TABLE report_shapes(
        id INTEGER PRIMARY KEY,
        device_id INTEGER NOT NULL REFERENCES devices(id),
        topic_id INTEGER NOT NULL REFERENCES topics(id),
        method_id INTEGER REFERENCES methods(id),   -- NULL: no method or one outside protocol.md
        shape_hash INTEGER NOT NULL,                -- FNV-1a of shape (0 for NULL), for lookups
        shape BLOB                                  -- the payload with placeholders for its numbers (PayloadShape);
                                                    -- NULL: the reports of this row keep their payload raw
    );
    CREATE INDEX report_shapes_by_hash ON report_shapes(device_id, shape_hash);
    INSERT INTO report_shapes(device_id, topic_id, method_id, shape_hash, shape)
        SELECT device_id, topic_id, method_id, thinglog_shape_hash(shape), shape FROM (
            SELECT device_id, topic_id, method_id, thinglog_shape(payload, received_at) AS shape, MIN(id) AS first
            FROM reports GROUP BY 1, 2, 3, 4) ORDER BY first;
    CREATE TABLE reports_v7(
        id INTEGER PRIMARY KEY,
        device_id INTEGER NOT NULL REFERENCES devices(id),
        received_at INTEGER NOT NULL,               -- epoch ms
        ts_offset INTEGER NOT NULL,                 -- ts − received_at: the time given to the readings
        packet_id INTEGER,                          -- MQTT packet identifier (QoS 1) or forwarding seq
        flags INTEGER NOT NULL,                     -- 1 clock_skew, 2 out_of_range, 4 unknown_property,
                                                    -- 8 redelivered (MQTT DUP), 16 timed by receive time,
                                                    -- 32 no readings
        shape_id INTEGER NOT NULL REFERENCES report_shapes(id),
        content NOT NULL                            -- BLOB: the payload's numbers, when the shape is not NULL;
                                                    -- TEXT: the payload itself
    );
    INSERT INTO reports_v7(id, device_id, received_at, ts_offset, packet_id, flags, shape_id, content)
        SELECT r.id, r.device_id, r.received_at, r.ts_offset, r.packet_id, r.flags, s.id,
               CASE WHEN s.shape IS NULL THEN r.payload ELSE thinglog_numbers(r.payload, r.received_at) END
        FROM (SELECT *, thinglog_shape(payload, received_at) AS shape FROM reports) r
        JOIN report_shapes s ON s.device_id = r.device_id AND s.shape_hash = thinglog_shape_hash(r.shape)
            AND s.topic_id = r.topic_id AND s.method_id IS r.method_id AND s.shape IS r.shape
        ORDER BY r.id;
    SELECT thinglog_check((SELECT COUNT(*) FROM reports) = (SELECT COUNT(*) FROM reports_v7),
                          'migration to schema 7 lost reports: nothing was changed');
    SELECT thinglog_check(NOT EXISTS (
            SELECT 1 FROM reports_v7 n JOIN report_shapes s ON s.id = n.shape_id JOIN reports o ON o.id = n.id
            WHERE CAST(thinglog_payload(s.shape, n.content, n.received_at) AS BLOB) IS NOT CAST(o.payload AS BLOB)),
        'migration to schema 7 would change a payload: nothing was changed');
    DROP VIEW reports_v;
    DROP VIEW rollup_complete_v;
    DROP TABLE reports;
    ALTER TABLE reports_v7 RENAME TO reports;
    CREATE INDEX reports_by_device_time ON reports(device_id, received_at) WHERE (flags & 48) != 0;
    \(appendOnlyTriggers("reports"))
    \(appendOnlyTriggers("report_shapes"))
    CREATE VIEW reports_v AS
        SELECT r.id AS id, d.product AS product, d.name AS device, t.topic AS topic,
               COALESCE(m.name, json_extract(thinglog_payload(s.shape, r.content, r.received_at), '$.method'))
                   AS method,
               r.received_at AS received_at, r.received_at + r.ts_offset AS ts, r.packet_id AS packet_id,
               (r.flags & 1) != 0 AS clock_skew, (r.flags & 2) != 0 AS out_of_range,
               (r.flags & 4) != 0 AS unknown_property, (r.flags & 8) != 0 AS redelivered,
               (r.flags & 16) != 0 AS receive_time, thinglog_payload(s.shape, r.content, r.received_at) AS payload
        FROM reports r JOIN report_shapes s ON s.id = r.shape_id JOIN devices d ON d.id = r.device_id
        JOIN topics t ON t.id = s.topic_id LEFT JOIN methods m ON m.id = s.method_id;
    \(rollupCompleteView)
    """
}
