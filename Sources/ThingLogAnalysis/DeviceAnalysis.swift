import ThingLogCore
import ThingLogStore

/// The analysis of one device over its frames (SPEC §6): ppm for every configured sensor and gas, warm-up after the
/// first report and after gaps, the MQ7 heater-cycle read phase, and every alarm rule. Everything it needs to
/// continue later is in `state`, which `analyze` saves after each run.
///
/// Alarm rules on ppm series see only usable estimates (quality `ok` or `out_of_range`): a sensor warming up or in
/// its heater's high phase reads far off and must not raise a gas alarm.
final class DeviceAnalysis {
    /// Saved between runs for one device.
    struct State {
        /// Time of the last frame analyzed.
        var throughTime: Int64?
        var warmupStart: Int64?
        var evaluators: [RuleEvaluator]

        /// Bump when the meaning of saved state changes: older state then fails to decode and is recomputed.
        static let version: Int64 = 1

        func encoded() -> [UInt8] {
            var encoder = StateEncoder()
            encoder.integer(Self.version)
            encoder.optionalInteger(throughTime)
            encoder.optionalInteger(warmupStart)
            encoder.count(evaluators.count)
            for evaluator in evaluators { evaluator.encode(to: &encoder) }
            return encoder.bytes
        }

        /// Restores saved state into `fresh` (built from the same configuration).
        static func decode(_ bytes: [UInt8], into fresh: State) throws(StateDecodingError) -> State {
            var decoder = StateDecoder(bytes)
            guard try decoder.integer() == version else { throw StateDecodingError() }
            var state = fresh
            state.throughTime = try decoder.optionalInteger()
            state.warmupStart = try decoder.optionalInteger()
            guard try decoder.count() == state.evaluators.count else { throw StateDecodingError() }
            for index in state.evaluators.indices { try state.evaluators[index].decode(from: &decoder) }
            guard decoder.isAtEnd else { throw StateDecodingError() }
            return state
        }
    }

    /// A configured sensor this device reports.
    private final class SensorPlan {
        let metricIndex: Int
        let chain: SensorChain
        /// Read once from the chain's configuration: the hot loop reads plain values (no name to retain).
        let curves: [PPMCurve]
        let ranges: [ClosedRange<Double>]
        let seriesIDs: [Int64]
        /// Evaluators fed by each gas's usable ppm.
        let evaluatorsByGas: [[Int]]
        /// (effective from, R0), in effect order.
        let calibrations: [(Int64, Double)]
        let configuredR0: Double?
        let heaterCyclePhase: Int64?
        var calibrationIndex = -1
        /// The rollup slot of the first gas; the others follow in order.
        var rollupSlot = 0

        init(metricIndex: Int, chain: SensorChain, seriesIDs: [Int64], evaluatorsByGas: [[Int]],
             calibrations: [(Int64, Double)]) {
            self.metricIndex = metricIndex
            self.chain = chain
            curves = chain.sensor.gases.map(\.ppmCurve)
            ranges = chain.sensor.gases.map(\.range)
            configuredR0 = chain.sensor.r0Ohms
            heaterCyclePhase = chain.sensor.heaterCyclePhaseMilliseconds
            self.seriesIDs = seriesIDs
            self.evaluatorsByGas = evaluatorsByGas
            self.calibrations = calibrations
        }

        /// The R0 in effect at `time` (times arrive in order): the latest saved calibration, else the configured one.
        func r0(at time: Int64) -> Double? {
            while calibrationIndex + 1 < calibrations.count, calibrations[calibrationIndex + 1].0 <= time {
                calibrationIndex += 1
            }
            return calibrationIndex >= 0 ? calibrations[calibrationIndex].1 : configuredR0
        }
    }

    /// Gap after which a sensor warms up again (mq-sensors.md §5).
    static let warmupGap: Int64 = 10 * 60_000
    /// The MQ7 datasheet heater cycle: 60 s high, 90 s low, CO read in the last 10 s (mq-sensors.md §5).
    static let heaterCycle: Int64 = 150_000
    static let heaterReadPhase: Int64 = 10_000

    let device: String
    private let configuration: Configuration
    private let sensors: [SensorPlan]
    /// Evaluators fed by each raw metric, by frame index.
    private var evaluatorsByMetric: [[Int]]
    private let temperatureIndex: Int?
    private let humidityIndex: Int?
    private let staleRules: [(rule: AlarmRule, after: Int64)]
    private(set) var state: State
    /// Output the analyzer has not written yet; it empties these as it writes.
    /// One buffer per ppm series (in sensor and gas order), each in time order.
    var ppmRows: [[PPMRow]] = []
    /// Rows waiting in `ppmRows`.
    var ppmRowCount = 0
    /// The rollups of the device's raw series (slots in metric order) and ppm series, fed from `rollupFrom` on.
    let rollups: RollupBuilder
    private let rollupFrom: Int64
    private let rawSeriesCount: Int
    var endedAlarms: [AlarmEvent] = []

    /// A fresh state for `device` under `configuration`, before any frame.
    static func initialState(device: String, configuration: Configuration) -> State {
        State(evaluators: configuration.alarms.compactMap {
            RuleEvaluator(rule: $0, device: device, windows: configuration.windows)
        })
    }

    /// `series` are the device's raw series in metric order; `ppmSeries[sensor.key]` the series ids of the sensor's
    /// gases in configuration order; `calibrations` the saved R0 history per sensor key. Frames at or after
    /// `rollups.from` feed the rollups.
    init(device: String, series: [(id: Int64, metric: String)], configuration: Configuration,
         ppmSeries: [String: [Int64]], calibrations: [String: [(Int64, Double)]], state: State,
         rollups: (from: Int64, keepFiveMinutesFrom: Int64)) {
        let metrics = series.map(\.metric)
        self.device = device
        self.configuration = configuration
        self.state = state
        // Metric names are compared as bytes (SPEC §5), like every device-sent name.
        let index = Dictionary(metrics.enumerated().map { (ExactName($1), $0) },
                               uniquingKeysWith: { first, _ in first })
        temperatureIndex = index[ExactName(configuration.compensation.temperatureProperty)]
        humidityIndex = index[ExactName(configuration.compensation.humidityProperty)]
        evaluatorsByMetric = Array(repeating: [], count: metrics.count)
        for (position, evaluator) in state.evaluators.enumerated() {
            if let metric = index[ExactName(evaluator.baseSeries)] { evaluatorsByMetric[metric].append(position) }
        }
        var sensors: [SensorPlan] = []
        for sensor in configuration.sensors {
            guard let metricIndex = index[ExactName(sensor.key)], let seriesIDs = ppmSeries[sensor.key] else {
                continue
            }
            let byGas = sensor.gases.map { gas in
                state.evaluators.indices.filter { state.evaluators[$0].baseSeries == "\(sensor.key).\(gas.gas)" }
            }
            sensors.append(SensorPlan(metricIndex: metricIndex, chain: SensorChain(sensor: sensor),
                                      seriesIDs: seriesIDs,
                                      evaluatorsByGas: byGas, calibrations: calibrations[sensor.key] ?? []))
        }
        var rollupSeries = series.map { RollupSeries.raw($0.id) }
        for sensor in sensors {
            sensor.rollupSlot = rollupSeries.count
            rollupSeries += sensor.seriesIDs.map(RollupSeries.ppm)
        }
        self.sensors = sensors
        self.rollups = RollupBuilder(series: rollupSeries, keepFiveMinutesFrom: rollups.keepFiveMinutesFrom)
        rawSeriesCount = series.count
        ppmRows = Array(repeating: [], count: rollupSeries.count - series.count)
        rollupFrom = rollups.from
        staleRules = configuration.alarms.compactMap { rule in
            if case .stale(let after) = rule.kind { (rule, after) } else { nil }
        }
    }

    /// Analyzes one frame. With `emitting` false (replaying history to rebuild state) nothing is output.
    func process(_ frames: DeviceFrames, emitting: Bool) {
        let time = frames.time, values = frames.values
        if let previous = state.throughTime {
            for (rule, after) in staleRules where time - previous > after && emitting {
                endedAlarms.append(staleAlarm(rule, after: after, lastReport: previous, next: time))
            }
            if time - previous > Self.warmupGap { state.warmupStart = time }
        } else {
            state.warmupStart = time
        }
        state.throughTime = time
        let isWarmingUp = time - (state.warmupStart ?? time) < configuration.warmupMilliseconds
        let rollingUp = time >= rollupFrom
        if rollingUp {
            rollups.addFrame(time: time)
            for (slot, value) in values.enumerated() where !value.isNaN { rollups.add(slot, time: time, value: value) }
        }
        let temperature = temperatureIndex.map { values[$0] }.flatMap { $0.isNaN ? nil : $0 }
        let humidity = humidityIndex.map { values[$0] }.flatMap { $0.isNaN ? nil : $0 }

        for sensor in sensors {
            let raw = values[sensor.metricIndex]
            guard !raw.isNaN else { continue }
            let offPhase = sensor.heaterCyclePhase.map { offset in
                floorModulo(time - offset, Self.heaterCycle) < Self.heaterCycle - Self.heaterReadPhase
            } ?? false
            let ratio = sensor.chain.ratio(raw: raw, temperature: temperature, humidity: humidity,
                                           compensation: configuration.compensation, r0: sensor.r0(at: time))
            let rollupSlot = sensor.rollupSlot
            for gasIndex in sensor.curves.indices {
                let (ppm, quality) = SensorChain.estimate(ratio, curve: sensor.curves[gasIndex],
                                                          range: sensor.ranges[gasIndex],
                                                          isWarmingUp: isWarmingUp || offPhase)
                if emitting {
                    ppmRowCount += 1
                    ppmRows[rollupSlot - rawSeriesCount + gasIndex].append(
                        PPMRow(seriesID: sensor.seriesIDs[gasIndex], time: time, ppm: ppm, ratio: ratio.value,
                               quality: quality))
                }
                guard let ppm, quality.isUsable else { continue }
                if rollingUp { rollups.add(rollupSlot + gasIndex, time: time, value: ppm) }
                for evaluator in sensor.evaluatorsByGas[gasIndex] { feed(evaluator, time, ppm, emitting) }
            }
        }
        for (metric, list) in evaluatorsByMetric.enumerated() where !list.isEmpty && !values[metric].isNaN {
            for evaluator in list { feed(evaluator, time, values[metric], emitting) }
        }
    }

    private func feed(_ evaluator: Int, _ time: Int64, _ value: Double, _ emitting: Bool) {
        if let ended = state.evaluators[evaluator].add(time: time, value: value), emitting { endedAlarms.append(ended) }
    }

    /// Alarms still active at the end of the data, with the time of the last sample each has seen: threshold and
    /// stuck alarms that have not cleared, and stale alarms when the device has been silent for longer than `after`
    /// before `dataEnd` (the newest reading of any device).
    func openAlarms(dataEnd: Int64?) -> [(alarm: AlarmEvent, lastSampleAt: Int64)] {
        var result: [(AlarmEvent, Int64)] = state.evaluators.compactMap { evaluator in
            evaluator.open.map { ($0, evaluator.lastSampleAt ?? $0.startedAt) }
        }
        if let last = state.throughTime, let dataEnd {
            for (rule, after) in staleRules where dataEnd - last > after {
                result.append((staleAlarm(rule, after: after, lastReport: last, next: nil), dataEnd))
            }
        }
        return result
    }

    /// Stale rule (SPEC §6): started at the last report + after, ended at the next report.
    private func staleAlarm(_ rule: AlarmRule, after: Int64, lastReport: Int64, next: Int64?) -> AlarmEvent {
        AlarmEvent(device: device, rule: rule.name, severity: rule.severity, series: nil, startedAt: lastReport + after,
                   firedAt: lastReport + after, endedAt: next, peak: nil, peakAt: nil, threshold: Double(after) / 1000)
    }
}
