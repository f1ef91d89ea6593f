import FoundationEssentials
import Dispatch
import Glibc

/// What was built: the version (written here only; `scripts/set-version` changes it) and, in release builds, the
/// commit and date `scripts/build-release` stamps into `BuildStamp`.
public enum BuildInfo {
    public static let version = "0.5.0-dev"
    public static var commit: String? { BuildStamp.commit.isEmpty ? nil : BuildStamp.commit }
    public static var date: String? { BuildStamp.date.isEmpty ? nil : BuildStamp.date }

    /// `0.5.0-dev (commit 1a2b3c4, built 2026-11-30)`.
    public static var description: String {
        let details = [commit.map { "commit \($0)" }, date.map { "built \($0)" }].compactMap { $0 }
        return version + (details.isEmpty ? "" : " (" + details.joined(separator: ", ") + ")")
    }
}

/// Process-lifetime counters for `GET /metrics` (SPEC §4 `receive`), rendered in the Prometheus text format 0.0.4.
/// Labels are fixed vocabularies (source, result, reject reason, status code): none takes a device name, so the
/// number of series is bounded whatever devices send. Thread-safe: the writer thread and the network loop both count.
public final class Metrics: @unchecked Sendable {
    /// Upper bounds of the `thinglog_commit_seconds` buckets.
    public static let commitBuckets: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10]

    private let lock = Lock()
    /// Counter values by metric name, then by rendered label set (`{a="b"}` or "").
    private var counters: [String: [String: Double]] = [:]
    private var gauges: [String: Double] = [:]
    private var commitCounts = [Int](repeating: 0, count: Metrics.commitBuckets.count + 1)
    private var commitSum = 0.0
    private var currentProblem: String?

    public init() {}

    /// Why the process cannot do its job now (a store outage being waited out), for `GET /healthz`; nil when healthy.
    public var problem: String? {
        get { lock.withLock { currentProblem } }
        set { lock.withLock { currentProblem = newValue } }
    }

    /// Adds `value` to a counter.
    public func add(_ name: String, _ labels: [(String, String)] = [], _ value: Double = 1) {
        let key = Self.labelText(labels)
        lock.withLock { counters[name, default: [:]][key, default: 0] += value }
    }

    public func set(_ name: String, _ value: Double) {
        lock.withLock { gauges[name] = value }
    }

    /// Records one commit's duration.
    public func observeCommit(seconds: Double) {
        lock.withLock {
            let bucket = Self.commitBuckets.firstIndex { seconds <= $0 } ?? Self.commitBuckets.count
            commitCounts[bucket] += 1
            commitSum += seconds
        }
    }

    /// A counter's value (for tests and `--progress`).
    public func value(_ name: String, _ labels: [(String, String)] = []) -> Double {
        lock.withLock { counters[name]?[Self.labelText(labels)] ?? gauges[name] ?? 0 }
    }

    /// Counts one committed batch of `source` (`mqtt`, `http`, `file`).
    public func recordCommit(source: String, reports: Int, duplicates: Int, rejects: [String: Int], readings: Int,
                             seconds: Double, now: Int64) {
        add("thinglog_messages_total", [("source", source), ("result", "stored")], Double(reports))
        add("thinglog_messages_total", [("source", source), ("result", "duplicate")], Double(duplicates))
        add("thinglog_messages_total", [("source", source), ("result", "rejected")],
            Double(rejects.values.reduce(0, +)))
        for (reason, count) in rejects { add("thinglog_rejects_total", [("reason", reason)], Double(count)) }
        add("thinglog_readings_total", [], Double(readings))
        add("thinglog_commits_total")
        observeCommit(seconds: seconds)
        if reports + duplicates + rejects.count > 0 {
            set("thinglog_last_message_timestamp_seconds", Double(now) / 1000)
        }
    }

    private static let descriptions: [(name: String, type: String, help: String)] = [
        ("thinglog_messages_total", "counter", "Messages received, by source and result."),
        ("thinglog_readings_total", "counter", "Readings stored."),
        ("thinglog_rejects_total", "counter", "Messages quarantined, by reason."),
        ("thinglog_commits_total", "counter", "Store transactions committed."),
        ("thinglog_http_requests_total", "counter", "HTTP requests answered, by status code."),
        ("thinglog_mqtt_reconnects_total", "counter", "MQTT reconnections."),
        ("thinglog_last_message_timestamp_seconds", "gauge", "When the last message was committed (epoch s)."),
        ("thinglog_mqtt_connected", "gauge", "1 while connected to the broker."),
        ("thinglog_db_bytes", "gauge", "Store size with its write-ahead log, in bytes."),
    ]

    /// The exposition text; `dbBytes` is read by the caller when scraped.
    public func render(dbBytes: Int64?) -> String {
        lock.withLock {
            var out = ""
            for (name, type, help) in Self.descriptions {
                var samples: [(String, Double)] = counters[name].map { $0.sorted { $0.key < $1.key } } ?? []
                if name == "thinglog_db_bytes", let dbBytes { samples = [("", Double(dbBytes))] }
                if let gauge = gauges[name] { samples = [("", gauge)] }
                if type == "counter", samples.isEmpty, !name.contains("mqtt") { samples = [("", 0)] }
                guard !samples.isEmpty else { continue }
                out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
                for (labels, value) in samples { out += "\(name)\(labels) \(Self.number(value))\n" }
            }
            out += "# HELP thinglog_commit_seconds Time to write and commit one batch.\n"
            out += "# TYPE thinglog_commit_seconds histogram\n"
            var cumulative = 0
            for (index, bound) in Self.commitBuckets.enumerated() {
                cumulative += commitCounts[index]
                out += "thinglog_commit_seconds_bucket{le=\"\(Self.number(bound))\"} \(cumulative)\n"
            }
            cumulative += commitCounts[Self.commitBuckets.count]
            out += "thinglog_commit_seconds_bucket{le=\"+Inf\"} \(cumulative)\n"
            out += "thinglog_commit_seconds_sum \(Self.number(commitSum))\n"
            out += "thinglog_commit_seconds_count \(cumulative)\n"
            out += "# HELP thinglog_build_info The running thinglog.\n# TYPE thinglog_build_info gauge\n"
            out += "thinglog_build_info{version=\"\(Self.escaped(BuildInfo.version))\","
                + "commit=\"\(Self.escaped(BuildInfo.commit ?? ""))\"} 1\n"
            return out
        }
    }

    static func labelText(_ labels: [(String, String)]) -> String {
        labels.isEmpty ? "" : "{" + labels.map { "\($0.0)=\"\(escaped($0.1))\"" }.joined(separator: ",") + "}"
    }

    /// A label value escaped as the text format requires (backslash, double quote, line feed).
    static func escaped(_ text: String) -> String {
        let special: (UInt8) -> Bool = { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\"") || $0 == 0x0A }
        guard text.utf8.contains(where: special) else { return text }
        var bytes: [UInt8] = []
        for byte in text.utf8 {
            if special(byte) { bytes += [UInt8(ascii: "\\"), byte == 0x0A ? UInt8(ascii: "n") : byte] }
            else { bytes.append(byte) }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func number(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return NumberFormatting.shortest(value) ?? String(value)
    }
}
