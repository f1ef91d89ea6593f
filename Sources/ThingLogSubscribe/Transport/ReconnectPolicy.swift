/// When an MQTT client tries to connect again (SPEC §4 `subscribe`): the first retry within `first`, the waits after
/// failed attempts doubling up to `maximum`, each jittered to between half and all of the current delay so that a
/// fleet of loggers does not reconnect in step; back to `first` once a connection is ready. Pure: the time and the
/// random draw come in, so the rules are tested without a clock (like `ClientSession`).
public struct ReconnectPolicy: Sendable, Equatable {
    public let first: Int64
    public let maximum: Int64
    /// Monotonic milliseconds before which no attempt is made.
    public private(set) var nextAttemptAt: Int64 = .min
    private var delay: Int64

    public init(first: Int64 = 500, maximum: Int64 = 15_000) {
        self.first = first
        self.maximum = maximum
        delay = first
    }

    public func isDue(now: Int64) -> Bool { now >= nextAttemptAt }

    /// An attempt failed at `now`; `draw` picks a number in a range (random in use). Returns the wait before the next.
    public mutating func failed(now: Int64, draw: (ClosedRange<Int64>) -> Int64) -> Int64 {
        let wait = delay / 2 + draw(0...(delay - delay / 2))
        nextAttemptAt = now + wait
        delay = min(delay * 2, maximum)
        return wait
    }

    /// A working connection was lost at `now`: the next attempt comes within `first`.
    public mutating func lost(now: Int64, draw: (ClosedRange<Int64>) -> Int64) {
        nextAttemptAt = now + draw(0...first)
    }

    /// A connection is ready: the next failure waits `first` again.
    public mutating func ready() {
        delay = first
    }
}
