import ThingLogCore
import ThingLogStore
import ThingLogAnalysis

/// Streams the rows of one kind from the store, ordered by device, then metric/sensor/gas (or rule), then time.
///
/// Every series-based kind walks its series one by one along its device's range of the primary key, so rows come out
/// in order without a sort and memory does not grow with the row count. Rolling windows and exposures are computed
/// here, as the rows stream, with the same code `analyze` uses for rules; feeding starts one lookback before the
/// range, so a row's value does not depend on the range asked for.
public struct Exporter {
    public let store: StoreReader
    /// Rolling windows for the `rolling` kind.
    public let windows: [RollingWindow]
    /// Most samples of one series `rolling` holds in memory (16 bytes each) to feed all its windows from one read;
    /// a longer series is read once per window.
    package var maximumCachedSamples = 1 << 20

    public init(store: StoreReader, windows: [RollingWindow] = []) {
        self.store = store
        self.windows = windows
    }

    package typealias Series = StoreReader.Series

    /// The series the filter selects, raw and/or ppm, in export order.
    package func series(_ filter: ExportFilter, raw: Bool, ppm: Bool,
                        orderBySensorAndGas: Bool = false) throws -> [Series] {
        try store.series(filter.selection, raw: raw, ppm: ppm, orderBySensorAndGas: orderBySensorAndGas)
    }

    /// The windows the `rolling` kind writes for a series: the configured ones, and for ppm series the exposures,
    /// narrowed to `--window` names.
    func rollingWindows(for series: Series, filter: ExportFilter) -> [SeriesWindow] {
        var all = windows.map(SeriesWindow.init(rolling:))
        if series.isPPM {
            all += SeriesWindow.exposures.map { SeriesWindow(exposureNamed: $0.name, milliseconds: $0.milliseconds) }
        }
        return filter.windows.isEmpty ? all : all.filter { filter.windows.contains($0.name) }
    }

    public func forEachRow(_ kind: ExportKind, filter: ExportFilter, _ body: ([ExportValue]) throws -> Void) throws {
        let from = filter.from ?? .min, to = filter.to ?? .max
        switch kind {
        case .readings:
            for series in try series(filter, raw: true, ppm: false) {
                let product = ExportValue.text(series.product), device = ExportValue.text(series.device)
                let metric = ExportValue.text(series.name)
                try samples(of: series, from: from, to: to) { time, value in
                    try body([product, device, metric, .timestamp(time), .number(value)])
                }
            }
        case .rolling:
            for series in try series(filter, raw: true, ppm: true) {
                let product = ExportValue.text(series.product), device = ExportValue.text(series.device)
                let metric = ExportValue.text(series.name)
                let windows = rollingWindows(for: series, filter: filter)
                func start(_ window: SeriesWindow) -> Int64 {
                    from == .min ? from : from &- window.lookbackMilliseconds
                }
                // Every window walks the same samples: read them once when they fit `cachedSamples`, else once per
                // window (a series' samples are its device's range of the store, filtered).
                let cached = try cachedSamples(of: series, from: windows.map(start).min() ?? from, to: to)
                for var window in windows {
                    let name = ExportValue.text(window.name)
                    let windowStart = start(window)
                    func emit(_ time: Int64, _ value: Double) throws {
                        let result = window.add(time: time, value: value)
                        guard time >= from else { return }
                        try body([product, device, metric, name, .timestamp(time), .number(result.mean),
                                  .number(result.minimum), .number(result.maximum), .number(Double(result.count))])
                    }
                    if let cached {
                        for (time, value) in cached where time >= windowStart { try emit(time, value) }
                    } else {
                        try samples(of: series, from: windowStart, to: to, emit)
                    }
                }
            }
        case .ppm:
            for series in try series(filter, raw: false, ppm: true, orderBySensorAndGas: true) {
                let product = ExportValue.text(series.product), device = ExportValue.text(series.device)
                let sensor = ExportValue.text(series.sensor)
                let gas = ExportValue.text(series.gas)
                try store.ppmRows(of: series, from: from, to: to) { row in
                    try body([product, device, sensor, gas, .timestamp(row.time),
                              row.ppm.map(ExportValue.number) ?? .empty, row.ratio.map(ExportValue.number) ?? .empty,
                              .text(row.quality.rawValue)])
                }
            }
        case .alarms:
            try alarms(filter: filter, body)
        case .summary:
            try summary(filter: filter, body)
        case .alarmHealth:
            try alarmHealth(filter: filter, body)
        case .raw:
            try store.archivedReports(devices: filter.devices, from: from, to: to) { topic, receivedAt, payload in
                try body([.text(topic), .timestamp(receivedAt), .text(payload)])
            }
        }
    }


    /// A series' samples with from ≤ ts < to, when there are at most `maximumCachedSamples`; else nil.
    private func cachedSamples(of series: Series, from: Int64, to: Int64) throws -> [(Int64, Double)]? {
        struct TooMany: Error {}
        var cached: [(Int64, Double)] = []
        do {
            try store.samples(of: series, from: from, to: to) { time, value in
                guard cached.count < maximumCachedSamples else { throw TooMany() }
                cached.append((time, value))
            }
        } catch is TooMany {
            return nil
        }
        return cached
    }

    /// A series' samples with from ≤ ts < to in time order; for ppm series the usable estimates only.
    package func samples(of series: Series, from: Int64, to: Int64, _ body: (Int64, Double) throws -> Void) throws {
        try store.samples(of: series, from: from, to: to, body)
    }

    /// Alarm health per device × rule with an alarm starting in the range. An open range is the span of the alarms it
    /// holds: from the earliest start to the latest end (or last sample of an alarm still active).
    private func alarmHealth(filter: ExportFilter, _ body: ([ExportValue]) throws -> Void) throws {
        var alarms: [StoredAlarm] = []
        try store.alarms(filter.selection, from: filter.from, to: filter.to) { alarms.append($0) }
        guard let earliest = alarms.map(\.startedAt).min() else { return }
        let latest = alarms.map { $0.endedAt ?? ($0.startedAt + Int64($0.durationSeconds * 1000)) }.max() ?? earliest
        let from = filter.from ?? earliest, to = filter.to ?? max(latest, earliest + 1)
        for row in AlarmHealth.rows(alarms, from: from, to: to) {
            try body([.text(row.product), .text(row.device), .text(row.rule), .text(row.severity),
                      .number(Double(row.alarms)), .number(Double(row.chatteringEpisodes)),
                      .number(row.standing ? 1 : 0), .number(row.activeShare)])
        }
    }

    /// Every alarm whose [started_at, ended_at) overlaps the range; an open alarm extends to the end.
    private func alarms(filter: ExportFilter, _ body: ([ExportValue]) throws -> Void) throws {
        try store.alarms(filter.selection, from: filter.from, to: filter.to) { alarm in
            try body([.text(alarm.id), .text(alarm.product), .text(alarm.device), .text(alarm.rule),
                      .text(alarm.severity), alarm.metric.map(ExportValue.text) ?? .empty,
                      .timestamp(alarm.startedAt), .timestamp(alarm.firedAt),
                      alarm.endedAt.map(ExportValue.timestamp) ?? .empty, .number(alarm.durationSeconds),
                      alarm.peak.map(ExportValue.number) ?? .empty, alarm.peakAt.map(ExportValue.timestamp) ?? .empty,
                      alarm.threshold.map(ExportValue.number) ?? .empty])
        }
    }

    /// Per device and series (raw metrics and usable ppm estimates of series like `MQ7.CO`): count, min, max, mean,
    /// sample standard deviation (Welford, scaled, so extreme values do not overflow), first and last time; from the
    /// hourly rollups and raw samples at the edges (SPEC §6), equal to a scan of the samples.
    private func summary(filter: ExportFilter, _ body: ([ExportValue]) throws -> Void) throws {
        let completeBefore = try store.rollupsCompleteBefore()
        for series in try series(filter, raw: true, ppm: true) {
            guard let statistics = try store.statistics(of: series, from: filter.from ?? .min, to: filter.to ?? .max,
                                                        completeBefore: completeBefore[series.deviceID]) else {
                continue
            }
            let stddev: ExportValue = statistics.sampleStandardDeviation.map(ExportValue.number) ?? .empty
            try body([.text(series.product), .text(series.device), .text(series.name),
                      .number(Double(statistics.count)), .number(statistics.minimum), .number(statistics.maximum),
                      .number(statistics.mean), stddev,
                      .timestamp(statistics.firstTime), .timestamp(statistics.lastTime)])
        }
    }
}
