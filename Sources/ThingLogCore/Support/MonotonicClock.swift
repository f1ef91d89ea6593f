import ThingLogCore
import Glibc

/// Milliseconds from a monotonic clock, for timers that must not jump with the wall clock.
public enum MonotonicClock {
    public static func now() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
    }
}
