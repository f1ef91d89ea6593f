-- Share of expected reports received per device in [from, to), expected from each device's median interval.
-- (Intervals rounded to two significant digits: whole seconds from 10 s, tenths from 1 s, hundredths below. Whole
-- hours from the hourly rollups of when each device reported, the rest from the raw readings: SPEC §6.)
WITH params AS (
    SELECT :from AS f, :to AS t, :from + (((-:from) % 3600000) + 3600000) % 3600000 AS lo
),
ranges AS (
    SELECT d.id AS device_id, p.f AS f, p.t AS t, p.lo AS lo,
           MAX(p.lo, COALESCE(MIN(p.t, c.complete_before)
                              - ((MIN(p.t, c.complete_before) % 3600000) + 3600000) % 3600000, p.lo)) AS hi
    FROM devices d CROSS JOIN params p LEFT JOIN rollup_complete_v c ON c.device_id = d.id
),
raw_times AS (
    -- A report's readings share its time, stored in its frames (one row per report); one range seek per device.
    SELECT r.device_id AS device_id, x.ts AS ts
    FROM ranges r CROSS JOIN frames x ON x.device_id = r.device_id AND x.ts >= r.f AND x.ts < MIN(r.lo, r.t)
    UNION
    SELECT r.device_id, x.ts
    FROM ranges r CROSS JOIN frames x ON x.device_id = r.device_id AND x.ts >= MAX(r.hi, r.f) AND x.ts < r.t
),
segments AS (
    -- Runs of reports: a rolled-up hour (count, first, last, its gaps) or one raw report time.
    SELECT r.device_id AS device_id, h.slot * 3600000 + h.first_offset AS first_ts,
           h.slot * 3600000 + h.last_offset AS last_ts, h.count AS reports, h.gaps AS gaps,
           CASE WHEN h.gaps LIKE '[%' THEN json_extract(h.gaps, '$[0]') END AS first_gap,
           CASE WHEN h.gaps LIKE '[%' THEN json_extract(h.gaps, '$[1]') END AS gap_step
    FROM ranges r CROSS JOIN frame_rollup_1h h
         ON h.device_id = r.device_id AND h.slot >= r.lo / 3600000 AND h.slot < r.hi / 3600000
    UNION ALL
    SELECT device_id, ts, ts, 1, NULL, NULL, NULL FROM raw_times
),
raw_gaps AS (
    SELECT device_id, first_ts - LAG(last_ts) OVER (PARTITION BY device_id ORDER BY first_ts) AS milliseconds
    FROM segments
),
gaps AS (
    -- In hundredths of a second, as the hourly histograms hold them.
    SELECT device_id, CASE WHEN milliseconds >= 10000 THEN (milliseconds + 500) / 1000 * 100
                           WHEN milliseconds >= 1000 THEN (milliseconds + 50) / 100 * 10
                           ELSE (milliseconds + 5) / 10 END AS gap,
           1 AS times
    FROM raw_gaps
    UNION ALL
    -- An hour's histogram: an object {"gap": times}, or an array [first gap, step, times of it, of the next, ...].
    SELECT s.device_id, COALESCE(s.first_gap + (j.key - 2) * s.gap_step, CAST(j.key AS INTEGER)), j.value
    FROM segments s, json_each(s.gaps) j
    WHERE s.gaps IS NOT NULL AND (s.first_gap IS NULL OR j.key > 1)
),
histogram AS (
    SELECT device_id, gap, SUM(times) AS times FROM gaps WHERE gap IS NOT NULL AND times > 0 GROUP BY device_id, gap
),
ranked AS (
    SELECT device_id, gap, times,
           SUM(times) OVER (PARTITION BY device_id ORDER BY gap ROWS UNBOUNDED PRECEDING) AS through,
           SUM(times) OVER (PARTITION BY device_id) AS c
    FROM histogram
),
medians AS (
    -- The middle gap (or the mean of the two middle ones) in gap order.
    SELECT device_id, AVG(gap) * 10 AS median FROM ranked
    WHERE (through - times < (c + 1) / 2 AND (c + 1) / 2 <= through)
       OR (through - times < (c + 2) / 2 AND (c + 2) / 2 <= through)
    GROUP BY device_id
),
counts AS (
    SELECT device_id, SUM(reports) AS reports FROM segments GROUP BY device_id
)
SELECT d.product AS product, d.name AS device, counts.reports AS reports,
       CAST(ROUND((:to - :from) / medians.median) AS INTEGER) AS expected,
       ROUND(counts.reports * medians.median / (:to - :from), 4) AS coverage
FROM counts JOIN devices d ON d.id = counts.device_id LEFT JOIN medians ON medians.device_id = counts.device_id
ORDER BY product, device;
