-- Devices with no reading at or after :since, and when they were last heard from.
SELECT d.product AS product, d.name AS device, (SELECT MAX(ts) FROM frames WHERE device_id = d.id) AS last_ts
FROM devices d
WHERE EXISTS (SELECT 1 FROM series s WHERE s.device_id = d.id) AND last_ts < :since
ORDER BY product, device;
