
/// A threshold rule's state machine over one series (SPEC §6): pending at the first breaching sample, cancelled by a
/// non-breaching one before it fires, fired at the first sample at or after start + `for`, ended at a sample at or past
/// `clear` once the samples stayed there until one at or after it + `clear_for` (the off-delay; with none, at once).
/// State carries across calls, so analysis can continue where it stopped.
public struct ThresholdDetector: Sendable {
    public let isAbove: Bool
    public let threshold: Double
    public let clear: Double
    public let forMilliseconds: Int64
    public let clearForMilliseconds: Int64

    /// Where the detector stands.
    public enum State: Sendable, Equatable {
        case idle
        case pending(startedAt: Int64, peak: Double, peakAt: Int64)
        /// `clearingSince`: the candidate end, a sample at or past `clear` not yet confirmed by `clear_for`.
        case firing(startedAt: Int64, firedAt: Int64, peak: Double, peakAt: Int64, clearingSince: Int64?)
    }

    public private(set) var state: State = .idle

    public init(isAbove: Bool, threshold: Double, clear: Double, forMilliseconds: Int64,
                clearForMilliseconds: Int64 = 0) {
        self.isAbove = isAbove
        self.threshold = threshold
        self.clear = clear
        self.forMilliseconds = forMilliseconds
        self.clearForMilliseconds = clearForMilliseconds
    }

    /// A finished alarm: started, fired, ended, peak and its time.
    public struct Finished: Sendable, Equatable {
        public var startedAt: Int64
        public var firedAt: Int64
        public var endedAt: Int64
        public var peak: Double
        public var peakAt: Int64
    }

    private func breaches(_ value: Double) -> Bool { isAbove ? value > threshold : value < threshold }
    private func clears(_ value: Double) -> Bool { isAbove ? value <= clear : value >= clear }
    private func isMoreExtreme(_ value: Double, than peak: Double) -> Bool { isAbove ? value > peak : value < peak }

    /// Feeds one sample; returns the alarm it ended, if any.
    public mutating func add(time: Int64, value: Double) -> Finished? {
        switch state {
        case .idle:
            guard breaches(value) else { return nil }
            state = .pending(startedAt: time, peak: value, peakAt: time)
            fireIfDue(time)
            return nil
        case .pending(let startedAt, var peak, var peakAt):
            guard breaches(value) else {
                state = .idle
                return nil
            }
            if isMoreExtreme(value, than: peak) { peak = value; peakAt = time }
            state = .pending(startedAt: startedAt, peak: peak, peakAt: peakAt)
            fireIfDue(time)
            return nil
        case .firing(let startedAt, let firedAt, var peak, var peakAt, let clearingSince):
            if clears(value) {
                let candidate = clearingSince ?? time
                if time >= candidate + clearForMilliseconds {
                    state = .idle
                    return Finished(startedAt: startedAt, firedAt: firedAt, endedAt: candidate, peak: peak,
                                    peakAt: peakAt)
                }
                state = .firing(startedAt: startedAt, firedAt: firedAt, peak: peak, peakAt: peakAt,
                                clearingSince: candidate)
                return nil
            }
            // Past `clear` again before the off-delay confirmed the candidate: the alarm goes on.
            if isMoreExtreme(value, than: peak) { peak = value; peakAt = time }
            state = .firing(startedAt: startedAt, firedAt: firedAt, peak: peak, peakAt: peakAt, clearingSince: nil)
            return nil
        }
    }

    private mutating func fireIfDue(_ time: Int64) {
        if case .pending(let startedAt, let peak, let peakAt) = state, time >= startedAt + forMilliseconds {
            state = .firing(startedAt: startedAt, firedAt: time, peak: peak, peakAt: peakAt, clearingSince: nil)
        }
    }
}

/// A stuck-sensor rule over one series (SPEC §6): a run of identical consecutive values starts at the run's first
/// sample, fires at its first sample at or after start + `for`, and ends at the first different value.
public struct StuckDetector: Sendable {
    public let forMilliseconds: Int64
    private var run: (value: Double, startedAt: Int64, firedAt: Int64?)?

    public init(forMilliseconds: Int64) {
        self.forMilliseconds = forMilliseconds
    }

    /// The active alarm, when the current run has fired.
    public var active: (value: Double, startedAt: Int64, firedAt: Int64)? {
        guard let run, let firedAt = run.firedAt else { return nil }
        return (run.value, run.startedAt, firedAt)
    }

    /// Feeds one sample; returns the alarm it ended (value, started, fired, ended), if any.
    public mutating func add(time: Int64, value: Double)
        -> (value: Double, startedAt: Int64, firedAt: Int64, endedAt: Int64)? {
        if var current = run, current.value == value {
            if current.firedAt == nil, time >= current.startedAt + forMilliseconds { current.firedAt = time }
            run = current
            return nil
        }
        let ended = active.map { ($0.value, $0.startedAt, $0.firedAt, time) }
        run = (value, time, forMilliseconds == 0 ? time : nil)
        return ended
    }
}

extension ThresholdDetector {
    func encode(to encoder: inout StateEncoder) {
        switch state {
        case .idle:
            encoder.integer(0)
        case .pending(let startedAt, let peak, let peakAt):
            encoder.integer(1); encoder.integer(startedAt); encoder.double(peak); encoder.integer(peakAt)
        case .firing(let startedAt, let firedAt, let peak, let peakAt, let clearingSince):
            encoder.integer(2); encoder.integer(startedAt); encoder.integer(firedAt); encoder.double(peak)
            encoder.integer(peakAt); encoder.optionalInteger(clearingSince)
        }
    }

    mutating func decode(from decoder: inout StateDecoder) throws(StateDecodingError) {
        switch try decoder.integer() {
        case 0: state = .idle
        case 1:
            let startedAt = try decoder.integer()
            state = .pending(startedAt: startedAt, peak: try decoder.double(), peakAt: try decoder.integer())
        case 2:
            state = .firing(startedAt: try decoder.integer(), firedAt: try decoder.integer(),
                            peak: try decoder.double(), peakAt: try decoder.integer(),
                            clearingSince: try decoder.optionalInteger())
        default: throw StateDecodingError()
        }
    }
}

extension StuckDetector {
    func encode(to encoder: inout StateEncoder) {
        encoder.flag(run != nil)
        guard let run else { return }
        encoder.double(run.value); encoder.integer(run.startedAt); encoder.optionalInteger(run.firedAt)
    }

    mutating func decode(from decoder: inout StateDecoder) throws(StateDecodingError) {
        run = try decoder.flag() ? (try decoder.double(), try decoder.integer(), try decoder.optionalInteger()) : nil
    }
}
