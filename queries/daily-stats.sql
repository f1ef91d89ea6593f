-- Daily count, min, max and mean of every series in [from, to) (UTC days).
SELECT strftime('%Y-%m-%d', ts / 1000, 'unixepoch') AS day, device, metric, COUNT(*) AS count, MIN(value) AS min,
       MAX(value) AS max, AVG(value) AS mean
FROM readings_v
WHERE ts >= :from AND ts < :to
GROUP BY day, device, metric
ORDER BY day, device, metric;
