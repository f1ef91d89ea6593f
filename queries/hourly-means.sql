-- Hourly mean, min, max and count of one series in [from, to) (UTC hours): --param device=D metric=M from=T to=T.
-- (device is NAME or PRODUCT/NAME.)
SELECT strftime('%Y-%m-%dT%H:00:00Z', ts / 1000, 'unixepoch') AS hour, AVG(value) AS mean, MIN(value) AS min,
       MAX(value) AS max, COUNT(*) AS count
FROM readings_v
WHERE (device = :device OR product || '/' || device = :device) AND metric = :metric AND ts >= :from AND ts < :to
GROUP BY ts / 3600000
ORDER BY hour;
