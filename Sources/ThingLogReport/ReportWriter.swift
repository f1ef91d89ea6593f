import FoundationEssentials
import Dispatch
import Glibc
import ThingLogCore
import ThingLogStore
import ThingLogAnalysis
import ThingLogExport

/// What `report` wrote.
public struct ReportResult: Sendable {
    public var folder: String
    public var devices: Int
    public var alarms: Int
    public var analysis: AnalysisSummary
}

/// The nightly job (SPEC §4 `report`): runs analyze, then writes `DIR/YYYY-MM-DD/` with `summary.csv`,
/// `summary.json`, `alarms.csv`, `alarms.json` and `report.html` for the local day. The folder is built beside its
/// final place and renamed into it, so it appears whole or not at all; a rerun replaces it (identical except
/// `generated_at`).
public struct ReportWriter {
    public let databasePath: String
    public let configuration: Configuration
    public let day: ReportDay
    public let outputDirectory: String
    public let generatedAt: Int64
    /// For tests: fail after writing this many files, as a full disk would.
    var failAfterFiles: Int?

    public init(databasePath: String, configuration: Configuration, day: ReportDay, outputDirectory: String,
                generatedAt: Int64) {
        self.databasePath = databasePath
        self.configuration = configuration
        self.day = day
        self.outputDirectory = outputDirectory
        self.generatedAt = generatedAt
    }

    public func run() throws -> ReportResult {
        let analysis = try Analyzer(path: databasePath, configuration: configuration).run()
        let store = try StoreReader.open(path: databasePath)
        let contents = try store.inSnapshot { try read(store) }
        let page = ReportPage(day: day, devices: contents.devices, generatedAt: generatedAt,
                              windowName: contents.meanWindow?.name, rejects: contents.rejects,
                              alarmHealth: contents.alarmHealth, ppmRanges: configuration.ppmRanges)
        var files = contents.files + [("report.html", Array(page.html().utf8))]
        if page.isFleet {
            files += contents.devices.map {
                ("devices/" + ReportPage.fileName(of: $0.device), Array(page.devicePage($0).utf8))
            }
        }
        let folder = try writeFolder(files)
        return ReportResult(folder: folder, devices: contents.devices.count,
                            alarms: contents.devices.reduce(0) { $0 + $1.alarms.count }, analysis: analysis)
    }

    /// What the day's folder is made of, read in one snapshot.
    private struct DayContents {
        var devices: [DeviceReport]
        var rejects: [(reason: String, count: Int)]
        var meanWindow: RollingWindow?
        var files: [(name: String, bytes: [UInt8])]
        var alarmHealth: [AlarmHealth.Row]
    }

    /// The day's export files and page contents, read in one snapshot.
    private func read(_ store: StoreReader) throws -> DayContents {
        let exporter = Exporter(store: store, windows: configuration.windows)
        let filter = ExportFilter(from: day.start, to: day.end)

        var files: [(name: String, bytes: [UInt8])] = []
        for kind in [ExportKind.summary, .alarms] {
            for format in [ExportFormat.csv, .json] {
                var bytes: [UInt8] = []
                _ = try ExportDocument(kind: kind, format: format, filter: filter, generatedAt: generatedAt)
                    .write(from: exporter) { piece in bytes += piece; piece.removeAll(keepingCapacity: true) }
                files.append(("\(kind.rawValue).\(format.rawValue)", bytes))
            }
        }
        // Every device that existed by the end of the day, so a silent one shows up too.
        let stored = try store.devices(withReadingsBefore: day.end)
        let builder = DeviceReportBuilder(exporter: exporter, configuration: configuration, day: day)
        let devices = try stored.map { try builder.build(device: $0) }
        let rejects = try store.rejectCounts(from: day.start, to: day.end)
        var alarms: [StoredAlarm] = []
        try store.alarms(StoreReader.Selection(), from: day.start, to: day.end) { alarms.append($0) }
        return DayContents(devices: devices, rejects: rejects, meanWindow: builder.meanWindow, files: files,
                           alarmHealth: AlarmHealth.rows(alarms, from: day.start, to: day.end))
    }

    /// Writes the files into a fresh hidden folder beside the target (each synced to the disk), then swaps it into
    /// place in one step (`renameat2` exchange), so the day's folder is never missing, and removes the previous one.
    /// Where the exchange is not available the previous folder is moved aside first. On any failure the hidden folder
    /// is removed and the previous report, if any, stays.
    private func writeFolder(_ files: [(name: String, bytes: [UInt8])]) throws -> String {
        let manager = FileManager.default
        let final = Path.join(outputDirectory, day.name)
        let suffix = "\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let staging = Path.join(outputDirectory, ".\(day.name).tmp-\(suffix)")
        do {
            try manager.createDirectory(atPath: outputDirectory, withIntermediateDirectories: true)
            guard mkdir(staging, 0o755) == 0 else {
                throw RuntimeError("cannot create \(staging): \(String(cString: strerror(errno)))")
            }
            for (index, file) in files.enumerated() {
                if let failAfterFiles, index >= failAfterFiles {
                    throw RuntimeError("simulated failure writing \(file.name)")
                }
                let path = Path.join(staging, file.name)
                let folder = Path.parent(path)
                if folder != staging, !manager.fileExists(atPath: folder) {
                    try manager.createDirectory(atPath: folder, withIntermediateDirectories: true)
                }
                try DurableFile.create(path, bytes: file.bytes)
            }
            if files.contains(where: { $0.name.hasPrefix("devices/") }) {
                DurableFile.syncDirectory(containing: staging + "/devices/x")
            }
            DurableFile.syncDirectory(containing: staging + "/x")
            if Path.isDirectory(final), DurableFile.exchange(staging, final) {
                // `staging` now names the previous report.
                try? manager.removeItem(atPath: staging)
            } else {
                let previous = Path.join(outputDirectory, ".\(day.name).old-\(suffix)")
                let hadPrevious = manager.fileExists(atPath: final)
                if hadPrevious { try manager.moveItem(atPath: final, toPath: previous) }
                do {
                    try manager.moveItem(atPath: staging, toPath: final)
                } catch {
                    if hadPrevious { try? manager.moveItem(atPath: previous, toPath: final) }
                    throw error
                }
                if hadPrevious { try? manager.removeItem(atPath: previous) }
            }
            DurableFile.syncDirectory(containing: final)
            return final
        } catch {
            try? manager.removeItem(atPath: staging)
            if let error = error as? RuntimeError { throw error }
            throw RuntimeError("report: cannot write \(final): \(error)")
        }
    }
}
