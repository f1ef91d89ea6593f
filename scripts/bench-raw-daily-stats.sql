-- The raw-SQL equivalent of the shipped daily-stats query (a scan of every reading in range, as thinglog did before
-- rollups): the baseline scripts/bench-history times next to it.
SELECT strftime('%Y-%m-%d', r.ts / 1000, 'unixepoch') AS day, d.product AS product, d.name AS device,
       s.metric AS metric, COUNT(*) AS count, MIN(r.value) AS min, MAX(r.value) AS max, AVG(r.value) AS mean
FROM devices d
CROSS JOIN readings r ON r.device_id = d.id AND r.ts >= :from AND r.ts < :to
JOIN series s ON s.id = r.series_id
GROUP BY day, d.id, metric
ORDER BY day, product, device, metric;
