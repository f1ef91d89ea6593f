/// One alarm rule applied to one device's series: the series' samples, transformed when the rule names a rolling
/// mean (`@5m`) or an exposure (`@twa8h`, `@stel15m`), drive a detector; finished and open alarms come out.
struct RuleEvaluator {
    let rule: AlarmRule
    let device: String
    private var transform: Transform
    private var detector: Detector
    private(set) var finished: [AlarmEvent] = []
    private(set) var lastSampleAt: Int64?

    private enum Transform {
        case none
        case rolling(RollingWindowState)
        case exposure(ExposureWindow)
    }

    private enum Detector {
        case threshold(ThresholdDetector)
        case stuck(StuckDetector)
    }

    /// The series a rule reads before any `@` transform, or nil for rules without one (stale).
    static func baseSeries(of rule: AlarmRule) -> String? {
        switch rule.kind {
        case .threshold(let series, _, _, _, _), .stuck(let series, _):
            String(series.split(separator: "@", maxSplits: 1)[0])
        case .stale: nil
        }
    }

    init?(rule: AlarmRule, device: String, windows: [RollingWindow]) {
        self.rule = rule
        self.device = device
        let series: String
        switch rule.kind {
        case .threshold(let name, let isAbove, let threshold, let clear, let duration):
            series = name
            detector = .threshold(ThresholdDetector(isAbove: isAbove, threshold: threshold, clear: clear,
                                                    forMilliseconds: duration))
        case .stuck(let name, let duration):
            series = name
            detector = .stuck(StuckDetector(forMilliseconds: duration))
        case .stale:
            return nil
        }
        let parts = series.split(separator: "@", maxSplits: 1)
        switch parts.count == 2 ? String(parts[1]) : nil {
        case nil: transform = .none
        case "twa8h"?: transform = .exposure(ExposureWindow(windowMilliseconds: 8 * 3_600_000))
        case "stel15m"?: transform = .exposure(ExposureWindow(windowMilliseconds: 15 * 60_000))
        case let name?:
            guard let window = windows.first(where: { $0.name == name }) else { return nil }
            transform = .rolling(RollingWindowState(windowMilliseconds: window.milliseconds))
        }
    }

    mutating func add(time: Int64, value: Double) {
        lastSampleAt = time
        let input: Double
        switch transform {
        case .none: input = value
        case .rolling(var state):
            input = state.add(time: time, value: value).mean
            transform = .rolling(state)
        case .exposure(var window):
            input = window.add(time: time, value: value)
            transform = .exposure(window)
        }
        switch detector {
        case .threshold(var threshold):
            if let done = threshold.add(time: time, value: input) {
                finished.append(event(startedAt: done.startedAt, firedAt: done.firedAt, endedAt: done.endedAt,
                                      peak: done.peak, peakAt: done.peakAt))
            }
            detector = .threshold(threshold)
        case .stuck(var stuck):
            if let done = stuck.add(time: time, value: input) {
                finished.append(event(startedAt: done.startedAt, firedAt: done.firedAt, endedAt: done.endedAt,
                                      peak: done.value, peakAt: done.startedAt))
            }
            detector = .stuck(stuck)
        }
    }

    /// The alarm still active at the end of the data, if any.
    var open: AlarmEvent? {
        switch detector {
        case .threshold(let threshold):
            guard case .firing(let startedAt, let firedAt, let peak, let peakAt) = threshold.state else { return nil }
            return event(startedAt: startedAt, firedAt: firedAt, endedAt: nil, peak: peak, peakAt: peakAt)
        case .stuck(let stuck):
            guard let active = stuck.active else { return nil }
            return event(startedAt: active.startedAt, firedAt: active.firedAt, endedAt: nil, peak: active.value,
                         peakAt: active.startedAt)
        }
    }

    private func event(startedAt: Int64, firedAt: Int64, endedAt: Int64?, peak: Double?, peakAt: Int64?) -> AlarmEvent {
        var threshold: Double?
        var series: String?
        switch rule.kind {
        case .threshold(let name, _, let value, _, _): threshold = value; series = name
        case .stuck(let name, _): series = name
        case .stale: break
        }
        return AlarmEvent(device: device, rule: rule.name, severity: rule.severity, series: series,
                          startedAt: startedAt, firedAt: firedAt, endedAt: endedAt, peak: peak, peakAt: peakAt,
                          threshold: threshold)
    }
}
