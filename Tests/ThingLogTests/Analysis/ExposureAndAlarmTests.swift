import Testing
@testable import ThingLogAnalysis
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
        #expect(detector.state == .firing(startedAt: 0, firedAt: 5, peak: 12, peakAt: 5))
        #expect(run(&detector, [(9, 4)]) == [Finished(startedAt: 0, firedAt: 5, endedAt: 9, peak: 12, peakAt: 5)])
    }

    /// SPEC §6 restated as a scan over runs of breaching samples.
    func bruteForce(_ samples: [(Int64, Double)], above: Bool, threshold: Double, clear: Double, duration: Int64)
        -> [Finished] {
        func breaches(_ v: Double) -> Bool { above ? v > threshold : v < threshold }
        func clears(_ v: Double) -> Bool { above ? v <= clear : v >= clear }
        var result: [Finished] = []
        var index = 0
        while index < samples.count {
            guard breaches(samples[index].1) else { index += 1; continue }
            let start = index
            var fired: Int?
            var cursor = start
            while cursor < samples.count, breaches(samples[cursor].1) {
                if samples[cursor].0 >= samples[start].0 + duration { fired = cursor; break }
                cursor += 1
            }
            guard let firedIndex = fired else { index = cursor; continue }
            var end = firedIndex + 1
            while end < samples.count, !clears(samples[end].1) { end += 1 }
            guard end < samples.count else { break }
            let inAlarm = samples[start..<end]
            let peak = above ? inAlarm.max { $0.1 < $1.1 }! : inAlarm.min { $0.1 < $1.1 }!
            let firstPeak = inAlarm.first { $0.1 == peak.1 }!
            result.append(Finished(startedAt: samples[start].0, firedAt: samples[firedIndex].0,
                                   endedAt: samples[end].0, peak: peak.1, peakAt: firstPeak.0))
            index = end + 1
        }
        return result
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
