import Foundation
import Testing
@testable import ThingLogCore
@testable import ThingLogCLI

@Suite struct RunningMomentsTests {
    /// Two-pass mean and sample standard deviation over values divided by `scale` first (a power of two: exact).
    func twoPass(_ values: [Double], scale: Double = 1) -> (mean: Double, stddev: Double) {
        let scaled = values.map { $0 / scale }
        let mean = scaled.reduce(0, +) / Double(scaled.count)
        let squares = scaled.map { ($0 - mean) * ($0 - mean) }.reduce(0, +)
        return (mean * scale, (squares / Double(scaled.count - 1)).squareRoot() * scale)
    }

    @Test(arguments: [1, 7, 42])
    func ordinaryValuesMatchATwoPassComputation(seed: UInt64) {
        var generator = SeededGenerator(seed: seed)
        let values = (0..<5_000).map { _ in Double.random(in: -1e6...1e6, using: &generator) }
        var moments = RunningMoments()
        values.forEach { moments.add($0) }
        let expected = twoPass(values)
        #expect(moments.count == values.count)
        #expect(abs(moments.mean - expected.mean) <= 1e-9 * max(1, abs(expected.mean)), "seed \(seed)")
        #expect(abs((moments.sampleStandardDeviation ?? 0) - expected.stddev) <= 1e-9 * expected.stddev, "seed \(seed)")
        #expect(moments.minimum == values.min() && moments.maximum == values.max())
    }

    @Test func valuesAtTheEdgeOfDoubleStayFinite() throws {
        let values = (0..<120).map { $0 % 2 == 0 ? 1.7e308 : -1.7e308 } + [Double.leastNonzeroMagnitude, 1e17]
        var moments = RunningMoments()
        values.forEach { moments.add($0) }
        let expected = twoPass(values, scale: 0x1p600)
        #expect(moments.mean.isFinite && abs(moments.mean - expected.mean) <= 1e-12 * 1.7e308)
        let stddev = try #require(moments.sampleStandardDeviation)
        #expect(stddev.isFinite && abs(stddev - expected.stddev) <= 1e-12 * expected.stddev)
        var single = RunningMoments()
        single.add(1e17)
        #expect(single.mean == 1e17 && single.sampleStandardDeviation == nil)
    }

    /// Merging parts (Chan's formula), through the stored form rollups keep, gives what adding every value does.
    @Test(arguments: [3, 9])
    func mergedPartsMatchATwoPassComputation(seed: UInt64) throws {
        var generator = SeededGenerator(seed: seed)
        for extreme in [false, true] {
            let values = (0..<3_000).map { index in
                extreme && index % 7 == 0 ? Double.random(in: -1...1, using: &generator) * 1.7e308
                                          : Double.random(in: 0...4095, using: &generator)
            }
            var merged = RunningMoments()
            var start = 0
            while start < values.count {
                let end = min(values.count, start + Int.random(in: 1...200, using: &generator))
                var part = RunningMoments()
                values[start..<end].forEach { part.add($0) }
                let stored = part.storedSquares
                merged.merge(RunningMoments(count: part.count, mean: part.mean, m2: stored.m2, shift: stored.shift,
                                            minimum: part.minimum, maximum: part.maximum))
                start = end
            }
            let expected = twoPass(values, scale: extreme ? 0x1p600 : 1)
            let stddev = try #require(merged.sampleStandardDeviation)
            #expect(merged.count == values.count && merged.minimum == values.min() && merged.maximum == values.max())
            #expect(abs(merged.mean - expected.mean) <= 1e-12 * max(abs(expected.mean), extreme ? 1e308 : 1))
            #expect(stddev.isFinite && abs(stddev - expected.stddev) <= 1e-12 * expected.stddev, "seed \(seed)")
        }
    }
}
