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
}
