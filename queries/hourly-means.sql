-- Hourly mean, min, max and count of one series in [from, to) (UTC hours): --param device=D metric=M from=T to=T.
-- (device is NAME or PRODUCT/NAME.) Whole hours from the hourly rollups, the rest from the raw readings (SPEC §6).
WITH params AS (
    SELECT :from AS f, :to AS t, :from + (((-:from) % 3600000) + 3600000) % 3600000 AS lo
),
ranges AS (
    SELECT s.id AS series_id, d.id AS device_id, p.f AS f, p.t AS t, p.lo AS lo,
           MAX(p.lo, COALESCE(MIN(p.t, c.complete_before)
                              - ((MIN(p.t, c.complete_before) % 3600000) + 3600000) % 3600000, p.lo)) AS hi
    FROM devices d JOIN series s ON s.device_id = d.id CROSS JOIN params p
    LEFT JOIN rollup_complete_v c ON c.device_id = d.id
    WHERE (d.name = :device OR d.product || '/' || d.name = :device) AND s.metric = :metric
),
parts AS (
    SELECT u.slot * 3600000 AS hour_start, u.count AS n, u.mean AS mean, u.min AS low, u.max AS high
    FROM ranges r CROSS JOIN rollup_1h u
         ON u.series_key = r.series_id AND u.slot >= r.lo / 3600000 AND u.slot < r.hi / 3600000
    UNION ALL
    SELECT x.ts - ((x.ts % 3600000) + 3600000) % 3600000, 1, x.value, x.value, x.value
    FROM ranges r CROSS JOIN readings x
         ON x.device_id = r.device_id AND x.ts >= r.f AND x.ts < MIN(r.lo, r.t) AND x.series_id = r.series_id
    UNION ALL
    SELECT x.ts - ((x.ts % 3600000) + 3600000) % 3600000, 1, x.value, x.value, x.value
    FROM ranges r CROSS JOIN readings x
         ON x.device_id = r.device_id AND x.ts >= MAX(r.hi, r.f) AND x.ts < r.t AND x.series_id = r.series_id
)
SELECT strftime('%Y-%m-%dT%H:00:00Z', hour_start / 1000, 'unixepoch') AS hour, SUM(n * mean) / SUM(n) AS mean,
       MIN(low) AS min, MAX(high) AS max, SUM(n) AS count
FROM parts
GROUP BY hour_start
ORDER BY hour_start;
