-- Share of expected reports received per device in [from, to), expected from each device's median interval.
WITH times AS (
    -- A report's readings share its time; range seeks per series, so the cost follows the range, not the history.
    SELECT DISTINCT d.id AS device_id, r.ts AS ts
    FROM devices d
    CROSS JOIN series s ON s.device_id = d.id
    CROSS JOIN readings r ON r.series_id = s.id AND r.ts >= :from AND r.ts < :to
),
gaps AS (
    SELECT device_id, ts - LAG(ts) OVER (PARTITION BY device_id ORDER BY ts) AS gap FROM times
),
ranked AS (
    SELECT device_id, gap, ROW_NUMBER() OVER (PARTITION BY device_id ORDER BY gap) AS n,
           COUNT(*) OVER (PARTITION BY device_id) AS c
    FROM gaps WHERE gap IS NOT NULL
),
medians AS (
    SELECT device_id, AVG(gap) AS median FROM ranked WHERE n IN ((c + 1) / 2, (c + 2) / 2) GROUP BY device_id
),
counts AS (
    SELECT device_id, COUNT(*) AS reports FROM times GROUP BY device_id
)
SELECT d.product AS product, d.name AS device, counts.reports AS reports,
       CAST(ROUND((:to - :from) / medians.median) AS INTEGER) AS expected,
       ROUND(counts.reports * medians.median / (:to - :from), 4) AS coverage
FROM counts JOIN devices d ON d.id = counts.device_id LEFT JOIN medians ON medians.device_id = counts.device_id
ORDER BY product, device;
