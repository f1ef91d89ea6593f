import ThingLogCore
import ThingLogStore

/// One alarm rule applied to one device's series: the series' samples, through the rolling mean or exposure the rule
/// names (`@5m`, `@twa8h`, `@stel15m`), drive a detector; ended alarms come out as they end, the active one stays.
/// Its whole state can be saved and restored, so `analyze` continues exactly where the last run stopped.
struct RuleEvaluator {
    let rule: AlarmRule
    let device: String
    /// The series the rule reads before any `@` window: `MQ7`, `MQ7.CO`.
    let baseSeries: String
    private var window: SeriesWindow?
    private var detector: Detector
    private(set) var lastSampleAt: Int64?

    private enum Detector {
        case threshold(ThresholdDetector)
        case stuck(StuckDetector)
    }

    /// nil for rules that read no series (stale) and for a window name that is not configured.
    init?(rule: AlarmRule, device: String, windows: [RollingWindow]) {
        self.rule = rule
        self.device = device
        let series: String
        switch rule.kind {
        case .threshold(let name, let isAbove, let threshold, let clear, let duration, let clearFor):
            series = name
            detector = .threshold(ThresholdDetector(isAbove: isAbove, threshold: threshold, clear: clear,
                                                    forMilliseconds: duration, clearForMilliseconds: clearFor))
        case .stuck(let name, let duration):
            series = name
            detector = .stuck(StuckDetector(forMilliseconds: duration))
        case .stale:
            return nil
        }
        let parts = series.split(separator: "@", maxSplits: 1).map(String.init)
        baseSeries = parts[0]
        if parts.count == 2 {
            guard let window = SeriesWindow(named: parts[1], windows: windows) else { return nil }
            self.window = window
        }
    }

    /// Feeds one sample; returns the alarm it ended, if any.
    mutating func add(time: Int64, value: Double) -> AlarmEvent? {
        lastSampleAt = time
        // Optional chaining mutates the window in place (a copy would duplicate its buffers).
        let input = window?.add(time: time, value: value).mean ?? value
        switch detector {
        case .threshold(var threshold):
            let done = threshold.add(time: time, value: input)
            detector = .threshold(threshold)
            return done.map { event(startedAt: $0.startedAt, firedAt: $0.firedAt, endedAt: $0.endedAt, peak: $0.peak,
                                    peakAt: $0.peakAt) }
        case .stuck(var stuck):
            let done = stuck.add(time: time, value: input)
            detector = .stuck(stuck)
            return done.map { event(startedAt: $0.startedAt, firedAt: $0.firedAt, endedAt: $0.endedAt, peak: $0.value,
                                    peakAt: $0.startedAt) }
        }
    }

    /// The alarm still active at the end of the data, if any.
    var open: AlarmEvent? {
        switch detector {
        case .threshold(let threshold):
            guard case .firing(let startedAt, let firedAt, let peak, let peakAt, _) = threshold.state else {
                return nil
            }
            return event(startedAt: startedAt, firedAt: firedAt, endedAt: nil, peak: peak, peakAt: peakAt)
        case .stuck(let stuck):
            guard let active = stuck.active else { return nil }
            return event(startedAt: active.startedAt, firedAt: active.firedAt, endedAt: nil, peak: active.value,
                         peakAt: active.startedAt)
        }
    }

    func encode(to encoder: inout StateEncoder) {
        encoder.optionalInteger(lastSampleAt)
        window?.encode(to: &encoder)
        switch detector {
        case .threshold(let threshold): threshold.encode(to: &encoder)
        case .stuck(let stuck): stuck.encode(to: &encoder)
        }
    }

    mutating func decode(from decoder: inout StateDecoder) throws(StateDecodingError) {
        lastSampleAt = try decoder.optionalInteger()
        try window?.decode(from: &decoder)
        switch detector {
        case .threshold(var threshold):
            try threshold.decode(from: &decoder)
            detector = .threshold(threshold)
        case .stuck(var stuck):
            try stuck.decode(from: &decoder)
            detector = .stuck(stuck)
        }
    }

    private func event(startedAt: Int64, firedAt: Int64, endedAt: Int64?, peak: Double?, peakAt: Int64?) -> AlarmEvent {
        var threshold: Double?
        if case .threshold(_, _, let value, _, _, _) = rule.kind { threshold = value }
        let series: String? = switch rule.kind {
        case .threshold(let name, _, _, _, _, _), .stuck(let name, _): name
        case .stale: nil
        }
        return AlarmEvent(device: device, rule: rule.name, severity: rule.severity, series: series,
                          startedAt: startedAt, firedAt: firedAt, endedAt: endedAt, peak: peak, peakAt: peakAt,
                          threshold: threshold)
    }
}
