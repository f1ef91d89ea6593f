-- Devices with no reading at or after :since, and when they were last heard from.
SELECT d.product AS product, d.name AS device, MAX((SELECT MAX(ts) FROM readings WHERE series_id = s.id)) AS last_ts
FROM devices d
JOIN series s ON s.device_id = d.id
GROUP BY d.id
HAVING last_ts < :since
ORDER BY product, device;
