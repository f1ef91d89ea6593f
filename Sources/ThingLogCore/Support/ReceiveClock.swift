/// The receive time of live messages (`subscribe`, `receive`): the wall clock, except that it never runs backwards.
///
/// When the wall clock steps back (NTP correcting a gateway's clock after boot), receive times go on from the last
/// one issued, at half the real rate (measured on the monotonic clock), until the wall clock catches up with them:
/// a device's receive times stay increasing, reports are not piled onto one millisecond (which would make the
/// untimed-report rule quarantine them as `too_fast`), and after twice the step the times are the wall clock's
/// again. A step forward is taken at once, and so is a step back of more than `maximumSlew` (a gateway that booted
/// days ahead): slewing it would stamp reports in the future for days; the untimed-report rule still keeps each
/// device's receive times unique. Not thread-safe: one per network thread.
package final class ReceiveClock {
    private let wall: () -> Int64
    private let monotonic: () -> Int64
    /// The last time issued and the monotonic time it was issued at.
    private var last: (issued: Int64, monotonic: Int64)?
    /// Since the wall clock stepped back: the time issued then and the monotonic time it was issued at.
    private var slewAnchor: (issued: Int64, monotonic: Int64)?

    /// The largest step back that is slewed (milliseconds).
    package static let maximumSlew: Int64 = 15 * 60_000

    package init(wall: @escaping () -> Int64, monotonic: @escaping () -> Int64) {
        self.wall = wall
        self.monotonic = monotonic
    }

    /// Whether receive times are running ahead of the wall clock after a step back.
    package var isSlewing: Bool { slewAnchor != nil }

    package func now() -> Int64 {
        let wallNow = wall(), monotonicNow = monotonic()
        guard let last else {
            self.last = (wallNow, monotonicNow)
            return wallNow
        }
        if wallNow < last.issued &- Self.maximumSlew {
            // Too far back to slew: the wall clock as it is.
            slewAnchor = nil
            self.last = (wallNow, monotonicNow)
            return wallNow
        }
        if slewAnchor == nil, wallNow < last.issued { slewAnchor = last }
        var time = wallNow
        if let anchor = slewAnchor {
            let slewed = anchor.issued &+ max(0, monotonicNow &- anchor.monotonic) / 2
            if wallNow >= slewed { slewAnchor = nil } else { time = slewed }
        }
        time = max(time, last.issued)
        self.last = (time, monotonicNow)
        return time
    }
}
