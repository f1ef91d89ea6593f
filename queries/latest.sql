-- The newest reading of every series.
-- (Two primary-key seeks per series: fast however long the history.)
WITH newest AS (
    SELECT s.id AS series_id, d.product AS product, d.name AS device, s.metric AS metric,
           (SELECT MAX(ts) FROM readings WHERE series_id = s.id) AS ts
    FROM series s
    JOIN devices d ON d.id = s.device_id
)
SELECT product, device, metric, ts,
       (SELECT value FROM readings WHERE series_id = newest.series_id AND ts = newest.ts) AS value
FROM newest
WHERE ts IS NOT NULL
ORDER BY product, device, metric;
