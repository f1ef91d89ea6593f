-- Alarms started per UTC day, rule and severity in [from, to) (run analyze first).
SELECT strftime('%Y-%m-%d', started_at / 1000, 'unixepoch') AS day, rule, severity, COUNT(*) AS count
FROM alarms_v
WHERE started_at >= :from AND started_at < :to
GROUP BY day, rule, severity
ORDER BY day, rule, severity;
