-- Daily count, min, max and mean of every series in [from, to) (UTC days).
-- Whole hours come from the hourly rollups (SPEC §6); the partial hours at the edges, and what analyze has not rolled
-- up yet, from the raw readings: the numbers of a full scan, at a cost that follows the range, not the history.
WITH params AS (
    SELECT :from AS f, :to AS t, :from + (((-:from) % 3600000) + 3600000) % 3600000 AS lo
),
ranges AS (
    -- Per device: the hourly rollups cover [lo, hi), raw readings the rest of [f, t).
    SELECT d.id AS device_id, p.f AS f, p.t AS t, p.lo AS lo,
           MAX(p.lo, COALESCE(MIN(p.t, c.complete_before)
                              - ((MIN(p.t, c.complete_before) % 3600000) + 3600000) % 3600000, p.lo)) AS hi
    FROM devices d CROSS JOIN params p LEFT JOIN rollup_complete_v c ON c.device_id = d.id
),
parts AS (
    SELECT s.id AS series_id, (u.slot - ((u.slot % 24) + 24) % 24) / 24 AS day_number, u.count AS n,
           u.mean AS mean, u.min AS low, u.max AS high
    FROM ranges r CROSS JOIN series s ON s.device_id = r.device_id
    CROSS JOIN rollup_1h u ON u.series_key = s.id AND u.slot >= r.lo / 3600000 AND u.slot < r.hi / 3600000
    UNION ALL
    SELECT x.series_id, (x.ts - ((x.ts % 86400000) + 86400000) % 86400000) / 86400000, 1, x.value, x.value, x.value
    FROM ranges r CROSS JOIN readings x ON x.device_id = r.device_id AND x.ts >= r.f AND x.ts < MIN(r.lo, r.t)
    UNION ALL
    SELECT x.series_id, (x.ts - ((x.ts % 86400000) + 86400000) % 86400000) / 86400000, 1, x.value, x.value, x.value
    FROM ranges r CROSS JOIN readings x ON x.device_id = r.device_id AND x.ts >= MAX(r.hi, r.f) AND x.ts < r.t
),
days AS (
    SELECT series_id, day_number, SUM(n) AS count, MIN(low) AS min, MAX(high) AS max, SUM(n * mean) / SUM(n) AS mean
    FROM parts GROUP BY series_id, day_number
)
SELECT strftime('%Y-%m-%d', days.day_number * 86400, 'unixepoch') AS day, d.product AS product, d.name AS device,
       s.metric AS metric, days.count AS count, days.min AS min, days.max AS max, days.mean AS mean
FROM days JOIN series s ON s.id = days.series_id JOIN devices d ON d.id = s.device_id
ORDER BY day, product, device, metric;
