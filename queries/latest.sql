-- The newest reading of every series.
-- (A backward scan per series in its device's range of the primary key: quick for series that report with their
-- device; one that stopped long ago while its device goes on costs a scan of everything the device sent since.)
SELECT d.product AS product, d.name AS device, s.metric AS metric, newest.ts AS ts, newest.value AS value
FROM series s
JOIN devices d ON d.id = s.device_id
JOIN readings newest ON newest.device_id = s.device_id AND newest.series_id = s.id AND newest.ts = (
    SELECT x.ts FROM readings x WHERE x.device_id = s.device_id AND x.series_id = s.id ORDER BY x.ts DESC LIMIT 1)
ORDER BY product, device, metric;
