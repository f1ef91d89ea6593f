import Foundation
import Testing
@testable import ThingLogAnalysis
@testable import ThingLogCore

/// Where a device's incremental run starts, decided without a store (the rule `analyze` applies per device).
@Suite struct DevicePlanTests {
    let fresh: DeviceAnalysis.State

    init() throws {
        let configuration = try ConfigurationLoader.load(path: nil, currentDirectory: "/nonexistent")
        fresh = DeviceAnalysis.initialState(device: "P/d", configuration: configuration)
    }

    var restored: DeviceAnalysis.State {
        var state = fresh
        state.throughTime = 1_000
        return state
    }

    @Test func nothingAtOrBeforeTheSavedTimeContinuesAfterIt() {
        let plan = Analyzer.DevicePlan(fresh: fresh, restored: restored, through: 1_000,
                                       affectedFrom: [nil, 1_001, nil])
        #expect(plan.after == 1_000 && plan.emitFrom == nil && plan.state.throughTime == 1_000)
    }

    @Test func theEarliestChangeAtOrBeforeTheSavedTimeRecomputesFromScratchWritingFromThere() {
        let plan = Analyzer.DevicePlan(fresh: fresh, restored: restored, through: 1_000,
                                       affectedFrom: [900, 1_000, 500, 2_000])
        #expect(plan.after == nil && plan.emitFrom == 500 && plan.state.throughTime == nil)
    }
}
