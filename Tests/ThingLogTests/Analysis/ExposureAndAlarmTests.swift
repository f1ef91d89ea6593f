import Testing
@testable import ThingLogAnalysis
@testable import ThingLogCore
@testable import ThingLogCLI

@Suite struct ExposureWindowTests {
    /// The definition, integrated segment by segment for each sample.
    func bruteForce(_ samples: [(Int64, Double)], window: Int64, hold: Int64) -> [Double] {
        samples.map { sample in
            let t = sample.0
            var integral = 0.0
            for (index, segment) in samples.enumerated() where segment.0 < t {
                let next = index + 1 < samples.count ? samples[index + 1].0 : Int64.max
                let end = min(next, segment.0 + hold, t)
                let start = max(segment.0, t - window)
                if end > start { integral += segment.1 * Double(end - start) }
            }
            return integral / Double(window)
        }
    }

    @Test func fixedCase() {
        // 60 ppm for 5 min, then a 20-minute silence (only 10 min of it holds), then 0.
        var window = ExposureWindow(windowMilliseconds: 15 * 60_000)
        #expect(window.add(time: 0, value: 60) == 0)
        #expect(window.add(time: 300_000, value: 60) == 60.0 * 5 / 15)
        #expect(window.add(time: 1_500_000, value: 0) == 60.0 * 5 / 15,
                "a 10-minute hold from 5 to 15 min, window 10–25")
        #expect(window.add(time: 1_800_000, value: 0) == 0)
    }

    @Test func agreesWithBruteForce() {
        var random = SeededGenerator(seed: 7)
        for trial in 0..<20 {
            var time: Int64 = 0
            var samples: [(Int64, Double)] = []
            for _ in 0..<300 {
                time += 1 + Int64(random.unit() * (trial % 2 == 0 ? 60_000 : 1_500_000))
                samples.append((time, random.uniform(0...500)))
            }
            for window: Int64 in [15 * 60_000, 8 * 3_600_000] {
                var exposure = ExposureWindow(windowMilliseconds: window)
                let fast = samples.map { exposure.add(time: $0.0, value: $0.1) }
                for (a, b) in zip(fast, bruteForce(samples, window: window, hold: 600_000)) {
                    #expect(abs(a - b) <= 1e-9 * max(1, abs(b)))
                }
            }
        }
    }
}

@Suite struct ThresholdDetectorTests {
    typealias Finished = ThresholdDetector.Finished

    func run(_ detector: inout ThresholdDetector, _ samples: [(Int64, Double)]) -> [Finished] {
        samples.compactMap { detector.add(time: $0.0, value: $0.1) }
    }

    @Test func forZeroFiresAtTheFirstBreach() {
        var detector = ThresholdDetector(isAbove: true, threshold: 300, clear: 100, forMilliseconds: 0)
        let done = run(&detector, [(0, 10), (1, 301), (2, 500), (3, 150), (4, 99)])
        #expect(done == [Finished(startedAt: 1, firedAt: 1, endedAt: 4, peak: 500, peakAt: 2)])
    }

    @Test func pendingAlarmCancelledOneSampleBeforeFiring() {
        var detector = ThresholdDetector(isAbove: true, threshold: 50, clear: 35, forMilliseconds: 60)
        let done = run(&detector, [(0, 60), (30, 70), (59, 50), (60, 80), (100, 90), (121, 34)])
        // 50 is not above 50: the alarm pending since 0 is cancelled at 59, one sample before it would fire at 60.
        // The next starts at 60 and is cancelled at 121 by a non-breaching sample before a breaching one reaches 120.
        #expect(done.isEmpty)
        #expect(detector.state == .idle)
    }

    @Test func valuesInsideTheHysteresisBandKeepItFiring() {
        var detector = ThresholdDetector(isAbove: true, threshold: 100, clear: 50, forMilliseconds: 10)
        let done = run(&detector, [(0, 120), (10, 110), (20, 80), (30, 51), (40, 130), (50, 50)])
        #expect(done == [Finished(startedAt: 0, firedAt: 10, endedAt: 50, peak: 130, peakAt: 40)])
    }

    @Test func belowRules() {
        var detector = ThresholdDetector(isAbove: false, threshold: 5, clear: 7, forMilliseconds: 0)
        let done = run(&detector, [(0, 6), (1, 4), (2, 2), (3, 6.9), (4, 7)])
        #expect(done == [Finished(startedAt: 1, firedAt: 1, endedAt: 4, peak: 2, peakAt: 2)])
    }

    @Test func aGapWhileFiringDoesNotEndIt() {
        var detector = ThresholdDetector(isAbove: true, threshold: 10, clear: 10, forMilliseconds: 0)
        let done = run(&detector, [(0, 20), (86_400_000, 15), (86_400_001, 10)])
        #expect(done == [Finished(startedAt: 0, firedAt: 0, endedAt: 86_400_001, peak: 20, peakAt: 0)])
    }

    @Test func anAlarmOpenAtTheEndClosesOnTheNextRun() {
        var detector = ThresholdDetector(isAbove: true, threshold: 10, clear: 5, forMilliseconds: 5)
        #expect(run(&detector, [(0, 11), (5, 12)]).isEmpty)
        #expect(detector.state == .firing(startedAt: 0, firedAt: 5, peak: 12, peakAt: 5, clearingSince: nil))
        #expect(run(&detector, [(9, 4)]) == [Finished(startedAt: 0, firedAt: 5, endedAt: 9, peak: 12, peakAt: 5)])
    }

    /// SPEC §6 restated as a scan over runs of breaching samples.
    func bruteForce(_ samples: [(Int64, Double)], above: Bool, threshold: Double, clear: Double, duration: Int64)
        -> [Finished] {
        // The SPEC scan without an off-delay.
        ClearForTests.specScan(samples, ClearForTests.Rule(above: above, threshold: threshold, clear: clear,
                                                           duration: duration, clearFor: 0)).0
    }

    @Test func agreesWithTheSpecScanOnRandomSeries() {
        var random = SeededGenerator(seed: 99)
        for trial in 0..<200 {
            var time: Int64 = 0
            let samples: [(Int64, Double)] = (0..<200).map { _ in
                time += 1 + Int64(random.unit() * 10)
                return (time, (random.uniform(0...100) * 4).rounded() / 4)
            }
            let above = trial % 2 == 0
            let threshold = random.uniform(30...70).rounded()
            let band = random.uniform(0...20).rounded()
            let clear = above ? threshold - band : threshold + band
            let duration = Int64(random.unit() * 40)
            var detector = ThresholdDetector(isAbove: above, threshold: threshold, clear: clear,
                                             forMilliseconds: duration)
            // Fed in two pieces, as incremental runs would.
            let cut = Int(random.unit() * 200)
            let fast = run(&detector, Array(samples[..<cut])) + run(&detector, Array(samples[cut...]))
            #expect(fast == bruteForce(samples, above: above, threshold: threshold, clear: clear, duration: duration))
        }
    }
}

@Suite struct StuckDetectorTests {
    @Test func aRunFiresAfterItsDurationAndEndsAtTheFirstDifferentValue() {
        var detector = StuckDetector(forMilliseconds: 100)
        #expect(detector.add(time: 0, value: 5) == nil)
        #expect(detector.add(time: 50, value: 7) == nil, "a new run; the first never fired")
        #expect(detector.add(time: 120, value: 7) == nil)
        #expect(detector.active == nil, "70 ms into the run")
        #expect(detector.add(time: 150, value: 7) == nil)
        #expect(detector.active?.firedAt == 150)
        let ended = detector.add(time: 400, value: 8)
        #expect(ended?.value == 7 && ended?.startedAt == 50 && ended?.firedAt == 150 && ended?.endedAt == 400)
    }
}

/// `clear_for`, the off-delay (SPEC §6), against a reading of the SPEC text written here: a fired alarm ends at a
/// sample c at or past `clear` only if every sample after c up to the first one at or after c + clear_for is at or
/// past `clear` too (and such a sample exists); then ended_at = c. A sample back beyond `clear` forgets c. An alarm
/// whose last candidate is unconfirmed at the end of the data is still active.
@Suite struct ClearForTests {
    typealias Finished = ThresholdDetector.Finished

    struct Rule {
        var above: Bool
        var threshold: Double
        var clear: Double
        var duration: Int64
        var clearFor: Int64
    }

    /// The SPEC text, applied by index over the whole series: (finished alarms, whether one is still active).
    static func specScan(_ samples: [(Int64, Double)], _ rule: Rule) -> ([Finished], Bool) {
        func breaches(_ v: Double) -> Bool { rule.above ? v > rule.threshold : v < rule.threshold }
        func clears(_ v: Double) -> Bool { rule.above ? v <= rule.clear : v >= rule.clear }
        var result: [Finished] = []
        var index = 0
        while index < samples.count {
            guard breaches(samples[index].1) else { index += 1; continue }
            let start = index
            var fired: Int?
            var cursor = start
            while cursor < samples.count, breaches(samples[cursor].1) {
                if samples[cursor].0 >= samples[start].0 + rule.duration { fired = cursor; break }
                cursor += 1
            }
            guard let firedIndex = fired else { index = cursor; continue }
            // Candidates after firing, each confirmed or forgotten.
            var candidate = firedIndex + 1
            var ended: (at: Int, confirmedAt: Int)?
            while ended == nil {
                while candidate < samples.count, !clears(samples[candidate].1) { candidate += 1 }
                guard candidate < samples.count else { break }
                let due = samples[candidate].0 + rule.clearFor
                guard let confirm = samples.indices.first(where: { $0 >= candidate && samples[$0].0 >= due }) else {
                    break   // not yet confirmed at the end of the data
                }
                if let broken = (candidate...confirm).first(where: { !clears(samples[$0].1) }) {
                    candidate = broken
                } else {
                    ended = (candidate, confirm)
                }
            }
            guard let ended else { return (result, true) }
            let inAlarm = samples[start..<ended.at]
            let peakValue = rule.above ? inAlarm.map(\.1).max()! : inAlarm.map(\.1).min()!
            let peakAt = inAlarm.first { $0.1 == peakValue }!.0
            result.append(Finished(startedAt: samples[start].0, firedAt: samples[firedIndex].0,
                                   endedAt: samples[ended.at].0, peak: peakValue, peakAt: peakAt))
            index = ended.confirmedAt + 1
        }
        return (result, false)
    }

    /// Feeds the samples in two pieces, the detector saved and restored between them as `analyze` does.
    static func detect(_ samples: [(Int64, Double)], _ rule: Rule, cut: Int) throws -> ([Finished], Bool) {
        var detector = ThresholdDetector(isAbove: rule.above, threshold: rule.threshold, clear: rule.clear,
                                         forMilliseconds: rule.duration, clearForMilliseconds: rule.clearFor)
        var finished = samples[..<cut].compactMap { detector.add(time: $0.0, value: $0.1) }
        var encoder = StateEncoder()
        detector.encode(to: &encoder)
        var restored = ThresholdDetector(isAbove: rule.above, threshold: rule.threshold, clear: rule.clear,
                                         forMilliseconds: rule.duration, clearForMilliseconds: rule.clearFor)
        var decoder = StateDecoder(encoder.bytes)
        try restored.decode(from: &decoder)
        finished += samples[cut...].compactMap { restored.add(time: $0.0, value: $0.1) }
        if case .firing = restored.state { return (finished, true) }
        return (finished, false)
    }

    @Test func agreesWithTheSpecTextOnRandomSeriesSplitAtEveryPoint() throws {
        var random = SeededGenerator(seed: 2026)
        for trial in 0..<120 {
            var time: Int64 = 0
            let samples: [(Int64, Double)] = (0..<60).map { _ in
                time += 1 + Int64(random.unit() * 10)
                return (time, (random.uniform(0...100) / 5).rounded() * 5)
            }
            let above = trial % 2 == 0
            let threshold = random.uniform(35...65).rounded()
            let band = random.uniform(0...25).rounded()
            let rule = Rule(above: above, threshold: threshold, clear: above ? threshold - band : threshold + band,
                            duration: Int64(random.unit() * 20), clearFor: Int64(random.unit() * 40))
            let expected = Self.specScan(samples, rule)
            for cut in 0...samples.count {
                let got = try Self.detect(samples, rule, cut: cut)
                #expect(got.0 == expected.0 && got.1 == expected.1, "trial \(trial) (seed 2026), cut \(cut)")
            }
        }
    }

    @Test func theOffDelayMergesChatterAndAnUnconfirmedEndStaysActive() throws {
        let rule = Rule(above: true, threshold: 10, clear: 5, duration: 0, clearFor: 120)
        // Fires at 0; clear at 60 (candidate), back to 7 at 100 (forgotten), clear at 130, confirmed at 250.
        let samples: [(Int64, Double)] = [(0, 12), (60, 4), (100, 7), (130, 3), (200, 2), (250, 1), (300, 11)]
        let (finished, active) = try Self.detect(samples, rule, cut: 3)
        #expect(finished == [Finished(startedAt: 0, firedAt: 0, endedAt: 130, peak: 12, peakAt: 0)])
        #expect(active, "a new alarm fired at 300")
        let open = try Self.detect([(0, 12), (60, 4), (100, 3)], rule, cut: 1)
        #expect(open.0.isEmpty && open.1, "the candidate at 60 is not confirmed by the end of the data")
        let zero = try Self.detect(samples, Rule(above: true, threshold: 10, clear: 5, duration: 0, clearFor: 0),
                                   cut: 0)
        #expect(zero.0.map(\.endedAt) == [60], "without an off-delay the first clear sample ends it")
    }

    @Test func theDefaultGasRulesHaveATwoMinuteOffDelayAndBadValuesAreRefused() throws {
        let directory = TemporaryDirectory()
        let configuration = try ConfigurationLoader.load(path: nil, currentDirectory: directory.path)
        let offDelays = configuration.alarms.compactMap { rule -> (String, Int64)? in
            guard case .threshold(_, _, _, _, _, let clearFor) = rule.kind, clearFor > 0 else { return nil }
            return (rule.name, clearFor)
        }
        #expect(offDelays.map(\.0) == ["ch4-10lel", "ch4-20lel", "lpg-10lel", "co2-5000"])
        #expect(offDelays.allSatisfy { $0.1 == 120_000 })
        let file = directory.write("bad.json", """
            {"alarms": [{"name": "x", "metric": "MQ7", "above": 5, "clear_for": "soon", "severity": "info"}]}
            """)
        #expect(throws: (any Error).self) { try ConfigurationLoader.load(path: file, currentDirectory: directory.path) }
    }
}
