import Foundation
import Testing
@testable import ThingLogCore
@testable import ThingLogAnalysis
@testable import ThingLogCLI

@Suite struct SimulateCommandTests {
    let directory = TemporaryDirectory()

    func simulate(_ extra: [String], to name: String) throws -> String {
        let result = runCLI(["simulate", "--out", name, "--devices", "3", "--duration", "21600", "--start",
                             "2026-11-26"] + extra, in: directory.path)
        #expect(result.status == 0)
        return try String(contentsOfFile: directory.file(name), encoding: .utf8)
    }

    @Test func sameSeedSameDataAndRecordsIngestCleanly() throws {
        let first = try simulate(["--seed", "5"], to: "a.jsonl")
        #expect(try simulate(["--seed", "5"], to: "b.jsonl") == first)
        #expect(try simulate(["--seed", "6"], to: "c.jsonl") != first)
        let lines = first.split(separator: "\n")
        // 3 devices × 6 h at ~10 s, less offline gaps.
        #expect(lines.count > 5_000 && lines.count <= 3 * 2_700)
        let ingest = runCLI(["ingest", "a.jsonl", "--db", "s.db"], in: directory.path)
        #expect(ingest.standardError.hasPrefix(
            "ingest: \(lines.count) reports, \(lines.count * 6) readings, 0 duplicates, 0 rejected"))
    }

    @Test func gasEventsReproduceTheirConcentrationThroughTheChain() {
        // Running the chain forwards on the simulated reading gives back the event's ppm (up to ADC rounding).
        for event in ReportSimulator.gasEvents {
            let model = SensorModel.all[event.sensor]!
            let sensor = SensorConfiguration(key: event.sensor, model: model, input: .adc(bits: 10, vref: 5),
                                             supplyVolts: 5, loadOhms: 10_000, r0Ohms: nil,
                                             gases: [model.curve(for: event.gas)!], heaterCyclePhaseMilliseconds: nil)
            let chain = SensorChain(sensor: sensor)
            let cleanAir = 100.0
            let r0 = chain.r0(fromCleanAirResistance: chain.resistance(cleanAir)!)
            let target = event.ppm.lowerBound * 2
            let reading = ReportSimulator.reading(forPPM: target, sensor: event.sensor, gas: event.gas,
                                                  cleanAirReading: cleanAir)
            let off = Compensation(temperatureProperty: "", humidityProperty: "", isEnabled: false)
            let ppm = chain.estimate(raw: reading, temperature: nil, humidity: nil, compensation: off,
                                     r0: r0, isWarmingUp: false)[0].ppm ?? 0
            #expect(abs(ppm - target) / target < 1e-9, "\(event.sensor) \(event.gas)")
        }
    }
}
