import Testing
@testable import ThingLogCore
@testable import ThingLogAnalysis
@testable import ThingLogCLI

@Suite struct SlidingWindowTests {
    /// The definition, computed the slow way: samples with t − W < tᵢ ≤ t.
    func bruteForce(_ samples: [(Int64, Double)], window: Int64) -> [RollingValue] {
        samples.map { sample in
            let inWindow = samples.filter { $0.0 > sample.0 - window && $0.0 <= sample.0 }.map(\.1)
            return RollingValue(time: sample.0, mean: inWindow.reduce(0, +) / Double(inWindow.count),
                                minimum: inWindow.min() ?? .nan, maximum: inWindow.max() ?? .nan, count: inWindow.count)
        }
    }

    func rolling(_ samples: [(Int64, Double)], window: Int64) -> [RollingValue] {
        var state = RollingWindowState(windowMilliseconds: window)
        return samples.map { state.add(time: $0.0, value: $0.1) }
    }

    @Test func samplesExactlyOneWindowApartAreNotTogether() {
        let result = rolling([(0, 1), (60_000, 2), (120_000, 4)], window: 60_000)
        #expect(result.map(\.count) == [1, 1, 1])
        #expect(result.map(\.mean) == [1, 2, 4])
    }

    @Test func irregularSpacingAndGapsLongerThanTheWindow() {
        let samples: [(Int64, Double)] = [(0, 10), (10_000, 20), (59_999, 30), (60_000, 40), (200_000, 5), (200_001, 7)]
        let result = rolling(samples, window: 60_000)
        #expect(result.map(\.count) == [1, 2, 3, 3, 1, 2])
        #expect(result[3] == RollingValue(time: 60_000, mean: 30, minimum: 20, maximum: 40, count: 3))
        #expect(result[5] == RollingValue(time: 200_001, mean: 6, minimum: 5, maximum: 7, count: 2))
    }

    @Test func agreesWithBruteForceOnRandomSeries() {
        var random = SeededGenerator(seed: 42)
        for trial in 0..<40 {
            var time: Int64 = 1_764_115_200_000
            var samples: [(Int64, Double)] = []
            for _ in 0..<400 {
                time += 1 + Int64(random.unit() * (trial % 2 == 0 ? 20_000 : 400_000))
                samples.append((time, random.uniform(-1e3...1e6) * (random.unit() < 0.1 ? 1e-6 : 1)))
            }
            for window: Int64 in [1_000, 60_000, 300_000, 3_600_000] {
                let fast = rolling(samples, window: window), slow = bruteForce(samples, window: window)
                for (a, b) in zip(fast, slow) {
                    #expect(a.count == b.count && a.minimum == b.minimum && a.maximum == b.maximum)
                    #expect(abs(a.mean - b.mean) <= 1e-12 * max(1, abs(b.mean)) * Double(b.count))
                }
            }
        }
    }

    @Test func longSeriesDoNotDrift() {
        // Large then tiny values: a running sum that subtracts would keep the large values' rounding error.
        var state = RollingWindowState(windowMilliseconds: 10)
        for index in 0..<100_000 { _ = state.add(time: Int64(index), value: index < 50_000 ? 1e12 + 0.1 : 0.001) }
        let last = state.add(time: 100_000, value: 0.001)
        #expect(last.count == 10)
        #expect(abs(last.mean - 0.001) < 1e-15)
    }

    /// Every window kind on a random series with pauses: (a) started anywhere at least the lookback before a time,
    /// and (b) saved and restored at any point, it gives the bit-identical values of one uninterrupted pass.
    @Test func resultsDependOnlyOnTheWindowNotOnWhereProcessingStarted() throws {
        var random = SeededGenerator(seed: 99)
        var time: Int64 = 1_764_115_200_000
        var samples: [(Int64, Double)] = []
        for _ in 0..<3000 {
            time += 1 + Int64(random.unit() * (random.unit() < 0.02 ? 3_000_000 : 20_000))
            samples.append((time, random.uniform(0...1e4) * (random.unit() < 0.1 ? 1e-7 : 1)))
        }
        let windows = [RollingWindow(name: "1m", milliseconds: 60_000),
                       RollingWindow(name: "15m", milliseconds: 900_000)]
        for name in ["1m", "15m", "twa8h", "stel15m"] {
            let fresh = try #require(SeriesWindow(named: name, windows: windows))
            var whole = fresh
            let reference = samples.map { whole.add(time: $0.0, value: $0.1) }
            for _ in 0..<10 {
                let cut = Int(random.unit() * Double(samples.count - 1))
                // (a) a late start
                var late = fresh
                let firstUsable = samples.firstIndex { $0.0 > samples[cut].0 - fresh.lookbackMilliseconds }!
                let lateValues = samples[firstUsable...].map { late.add(time: $0.0, value: $0.1) }
                #expect(Array(lateValues[(cut - firstUsable)...]) == Array(reference[cut...]), "\(name) from \(cut)")
                // (b) save and restore
                var first = fresh
                for sample in samples[..<cut] { _ = first.add(time: sample.0, value: sample.1) }
                var encoder = StateEncoder()
                first.encode(to: &encoder)
                var decoder = StateDecoder(encoder.bytes)
                var resumed = fresh
                try resumed.decode(from: &decoder)
                #expect(decoder.isAtEnd)
                #expect(samples[cut...].map { resumed.add(time: $0.0, value: $0.1) } == Array(reference[cut...]),
                        "\(name) resumed at \(cut)")
            }
        }
    }
}
