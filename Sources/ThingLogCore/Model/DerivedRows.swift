/// The quality of one ppm estimate (SPEC §6).
public enum PPMQuality: String, Sendable, CaseIterable {
    case ok
    /// The curve value lies outside the datasheet curve's ppm range: an extrapolation.
    case outOfRange = "out_of_range"
    /// Vout ≤ 0 or Vout ≥ Vc (or Rs ≤ 0, or an Rs/R0 that is not a number): no ppm.
    case saturated
    /// No R0: no ppm.
    case uncalibrated
    /// Within the warm-up after a device's first report or a gap (or the MQ7 heater's high phase).
    case warmup

    /// The code stored in `ppm.quality`; `ppm_v` maps it back to the name.
    public var code: Int64 {
        switch self {
        case .ok: 0
        case .outOfRange: 1
        case .saturated: 2
        case .uncalibrated: 3
        case .warmup: 4
        }
    }

    /// Usable estimates (codes ≤ this) feed alarm rules, rolling windows and summaries: `ok` and `out_of_range`.
    public static let usableCodeLimit: Int64 = 1
    public var isUsable: Bool { code <= Self.usableCodeLimit }
    /// Saturated and uncalibrated estimates have no Rs/R0 (and no ppm); the others all have one.
    public var hasRatio: Bool { self != .saturated && self != .uncalibrated }
}

/// One ppm estimate ready to store (`ppm` table).
public struct PPMRow: Sendable {
    public var seriesID: Int64
    public var time: Int64
    public var ppm: Double?
    public var ratio: Double?
    public var quality: PPMQuality

    public init(seriesID: Int64, time: Int64, ppm: Double?, ratio: Double?, quality: PPMQuality) {
        self.seriesID = seriesID
        self.time = time
        self.ppm = ppm
        self.ratio = ratio
        self.quality = quality
    }
}

/// One alarm (SPEC §4 `alarms` columns, §6 semantics). `endedAt` is nil while it is still active.
public struct AlarmEvent: Sendable, Equatable {
    /// The device as `PRODUCT/NAME` (SPEC §5: a device is its product and name).
    public var device: String
    public var rule: String
    public var severity: AlarmRule.Severity
    public var series: String?
    public var startedAt: Int64
    public var firedAt: Int64
    public var endedAt: Int64?
    public var peak: Double?
    public var peakAt: Int64?
    public var threshold: Double?

    /// Stable across reruns: derived from device (product and name), rule and start.
    public var id: String {
        String(hexString(SHA256.hash(Array("\(device)\u{0}\(rule)\u{0}\(startedAt)".utf8))).prefix(16))
    }

    package init(device: String, rule: String, severity: AlarmRule.Severity, series: String? = nil,
                 startedAt: Int64, firedAt: Int64, endedAt: Int64? = nil, peak: Double? = nil, peakAt: Int64? = nil,
                 threshold: Double? = nil) {
        self.device = device
        self.rule = rule
        self.severity = severity
        self.series = series
        self.startedAt = startedAt
        self.firedAt = firedAt
        self.endedAt = endedAt
        self.peak = peak
        self.peakAt = peakAt
        self.threshold = threshold
    }
}
