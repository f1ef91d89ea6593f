-- Share of expected reports received per device in [from, to), expected from each device's median interval.
WITH times AS (
    SELECT d.name AS device, r.received_at + r.ts_offset AS ts
    FROM reports r
    JOIN devices d ON d.id = r.device_id
    WHERE r.method_id = (SELECT id FROM methods WHERE name = 'report')
      AND r.received_at + r.ts_offset >= :from AND r.received_at + r.ts_offset < :to
),
gaps AS (
    SELECT device, ts - LAG(ts) OVER (PARTITION BY device ORDER BY ts) AS gap FROM times
),
ranked AS (
    SELECT device, gap, ROW_NUMBER() OVER (PARTITION BY device ORDER BY gap) AS n,
           COUNT(*) OVER (PARTITION BY device) AS c
    FROM gaps WHERE gap IS NOT NULL
),
medians AS (
    SELECT device, AVG(gap) AS median FROM ranked WHERE n IN ((c + 1) / 2, (c + 2) / 2) GROUP BY device
),
counts AS (
    SELECT device, COUNT(*) AS reports FROM times GROUP BY device
)
SELECT counts.device AS device, counts.reports AS reports,
       CAST(ROUND((:to - :from) / medians.median) AS INTEGER) AS expected,
       ROUND(counts.reports * medians.median / (:to - :from), 4) AS coverage
FROM counts LEFT JOIN medians ON medians.device = counts.device
ORDER BY device;
