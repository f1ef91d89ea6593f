import Testing
@testable import ThingLogReport

/// Charts fit any values a device can send without trapping, looping or drawing NaN (SPEC §5).
@Suite struct AxisScaleTests {
    @Test(arguments: [[], [1e17], [1e17, 1e17], [1.7e308, -1.7e308], [-1.7e308], [.nan], [.infinity, 3],
                      [Double.leastNonzeroMagnitude, 0], [0, 0], [-3, 7], [Double.greatestFiniteMagnitude, 1]])
    func everyValueSetGivesAFiniteScale(_ values: [Double]) {
        for logarithmic in [false, true] {
            let scale = AxisScale(values: logarithmic ? values.filter { $0 > 0 } : values, logarithmic: logarithmic)
            #expect(scale.low.isFinite && scale.high.isFinite && scale.high > scale.low, "\(values) \(logarithmic)")
            let ticks = scale.ticks()
            #expect(!ticks.isEmpty && ticks.count <= 2 * AxisScale.maximumTicks + 1, "\(values): \(ticks.count)")
            for value in values + ticks.map(\.0) {
                let position = scale.position(value)
                #expect(position >= 0 && position <= 1, "\(value) in \(values)")
            }
            #expect(ticks.allSatisfy { !$0.1.contains("nan") && !$0.1.contains("inf") })
        }
    }

    @Test func ordinaryValuesGetRoundTicks() {
        let scale = AxisScale(values: [3, 97], logarithmic: false)
        #expect(scale.low == 0 && scale.high == 100)
        #expect(scale.ticks().map(\.0) == [0, 50, 100])
        let log = AxisScale(values: [2, 3000], logarithmic: true)
        #expect(log.ticks().map(\.0) == [1, 10, 100, 1000, 10000])
    }

    @Test func coordinatesOfAnythingAreNumbers() {
        for value in [Double.nan, .infinity, -.infinity, 1e300, -1e300, 12.34] {
            #expect(!coordinate(value).contains("n") && !coordinate(value).contains("i"))
        }
    }
}
