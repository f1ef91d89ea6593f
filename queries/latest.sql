-- The newest reading of every series.
SELECT d.name AS device, s.metric AS metric, r.ts AS ts, r.value AS value
FROM series s
JOIN devices d ON d.id = s.device_id
JOIN readings r ON r.series_id = s.id AND r.ts = (SELECT MAX(ts) FROM readings WHERE series_id = s.id)
ORDER BY device, metric;
