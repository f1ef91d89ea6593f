import ThingLogCore
import ThingLogStore

/// A statistic over a sliding time window of one series, as the `rolling` export and `@` rules name it: a configured
/// rolling window (`5m`: mean, min, max, count) or an exposure (`twa8h`, `stel15m`: the time-weighted average as
/// mean, with min, max and count of the samples in the same window).
public struct SeriesWindow: Sendable {
    /// The window's name as exports and rules write it.
    public let name: String
    private var rolling: RollingWindowState
    private var exposure: ExposureWindow?

    /// The exposure windows every ppm series gets (SPEC §6).
    public static let exposures: [(name: String, milliseconds: Int64)] = [
        ("twa8h", 8 * 3_600_000), ("stel15m", 15 * 60_000),
    ]

    public init(rolling window: RollingWindow) {
        name = window.name
        rolling = RollingWindowState(windowMilliseconds: window.milliseconds)
    }

    public init(exposureNamed name: String, milliseconds: Int64) {
        self.name = name
        rolling = RollingWindowState(windowMilliseconds: milliseconds)
        exposure = ExposureWindow(windowMilliseconds: milliseconds)
    }

    /// The window a rule or an export names: a configured window's name, `twa8h` or `stel15m`.
    public init?(named name: String, windows: [RollingWindow]) {
        if let window = windows.first(where: { $0.name == name }) {
            self.init(rolling: window)
        } else if let exposure = Self.exposures.first(where: { $0.name == name }) {
            self.init(exposureNamed: exposure.name, milliseconds: exposure.milliseconds)
        } else {
            return nil
        }
    }

    public var isExposure: Bool { exposure != nil }

    /// How far before a time t samples can still influence the value at t: start feeding at least this early.
    public var lookbackMilliseconds: Int64 {
        rolling.windowMilliseconds + (exposure?.holdMilliseconds ?? 0)
    }

    public mutating func add(time: Int64, value: Double) -> RollingValue {
        var result = rolling.add(time: time, value: value)
        if let average = exposure?.add(time: time, value: value) { result.mean = average }
        return result
    }

    func encode(to encoder: inout StateEncoder) {
        let contents = rolling.aggregate.contents
        encoder.count(contents.count)
        for (time, value) in contents { encoder.integer(time); encoder.double(value) }
        encoder.flag(exposure != nil)
        guard let exposure else { return }
        encoder.count(exposure.liveSegments.count)
        for segment in exposure.liveSegments {
            encoder.integer(segment.start); encoder.integer(segment.end); encoder.double(segment.value)
        }
        encoder.optionalInteger(exposure.previous?.time)
        if let previous = exposure.previous { encoder.double(previous.value) }
    }

    mutating func decode(from decoder: inout StateDecoder) throws(StateDecodingError) {
        var contents: [(time: Int64, value: Double)] = []
        for _ in 0..<(try decoder.count()) { contents.append((try decoder.integer(), try decoder.double())) }
        rolling = RollingWindowState(windowMilliseconds: rolling.windowMilliseconds, contents: contents)
        guard try decoder.flag() == (exposure != nil) else { throw StateDecodingError() }
        guard let current = exposure else { return }
        var segments: [ExposureWindow.Segment] = []
        for _ in 0..<(try decoder.count()) {
            let start = try decoder.integer(), end = try decoder.integer()
            segments.append(.init(start: start, end: end, value: try decoder.double()))
        }
        var previous: (time: Int64, value: Double)?
        if let time = try decoder.optionalInteger() { previous = (time, try decoder.double()) }
        exposure = ExposureWindow(windowMilliseconds: current.windowMilliseconds,
                                  holdMilliseconds: current.holdMilliseconds,
                                  segments: segments, previous: previous)
    }
}
