import FoundationEssentials
import Dispatch
import Glibc
import ThingLogStore

/// What `export` writes (SPEC §4): the kinds, their columns in order, and how rows stream out of the store.
public enum ExportKind: String, CaseIterable, Sendable {
    case readings, rolling, ppm, alarms, summary
    case alarmHealth = "alarm-health"
    /// The raw archive: each stored report as received, as the `jsonl` records `ingest` reads back.
    case raw

    public var columns: [String] {
        switch self {
        case .readings: ["product", "device", "metric", "ts", "value"]
        case .rolling: ["product", "device", "metric", "window", "ts", "mean", "min", "max", "count"]
        case .ppm: ["product", "device", "sensor", "gas", "ts", "ppm", "rs_r0", "quality"]
        case .alarms: ["id", "product", "device", "rule", "severity", "metric", "started_at", "fired_at", "ended_at",
                       "duration_s", "peak", "peak_at", "threshold"]
        case .summary: ["product", "device", "metric", "count", "min", "max", "mean", "stddev", "first_ts", "last_ts"]
        case .alarmHealth: ["product", "device", "rule", "severity", "alarms", "chattering_episodes", "standing",
                            "active_share"]
        case .raw: ["topic", "received_at", "payload"]
        }
    }
}

extension ExportKind {
    /// The position of `column` in this kind's rows.
    public func index(of column: String) -> Int {
        guard let index = columns.firstIndex(of: column) else { preconditionFailure("no column \(column) in \(self)") }
        return index
    }
}

/// One exported value: text, a number, a timestamp (written as ISO 8601 UTC with milliseconds) or empty.
public enum ExportValue: Sendable, Equatable {
    case text(String)
    case number(Double)
    case timestamp(Int64)
    case empty
}

/// Filters shared by every kind: a half-open time range and device / metric / window lists (empty: all).
public struct ExportFilter: Sendable {
    public var from: Int64?
    public var to: Int64?
    /// Device ids (`DeviceDirectory` resolves `--device` to them); nil: every device.
    public var devices: [Int64]?
    public var metrics: [String] = []
    /// Rolling windows by name (`5m`, `twa8h`); only the `rolling` kind reads it.
    public var windows: [String] = []

    public init(from: Int64? = nil, to: Int64? = nil, devices: [Int64]? = nil, metrics: [String] = [],
                windows: [String] = []) {
        self.from = from
        self.to = to
        self.devices = devices
        self.metrics = metrics
        self.windows = windows
    }

    /// The devices and series the filter selects.
    var selection: StoreReader.Selection { StoreReader.Selection(devices: devices, metrics: metrics) }
}

