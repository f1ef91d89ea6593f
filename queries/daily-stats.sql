-- Daily count, min, max and mean of every series in [from, to) (UTC days).
-- (Driven by series, with a primary-key range seek each: the cost follows the range, not the history.)
SELECT strftime('%Y-%m-%d', r.ts / 1000, 'unixepoch') AS day, d.product AS product, d.name AS device,
       s.metric AS metric, COUNT(*) AS count, MIN(r.value) AS min, MAX(r.value) AS max, AVG(r.value) AS mean
FROM devices d
CROSS JOIN series s ON s.device_id = d.id
CROSS JOIN readings r ON r.series_id = s.id AND r.ts >= :from AND r.ts < :to
GROUP BY day, d.id, metric
ORDER BY day, product, device, metric;
