import ThingLogStore
import ThingLogExport

/// What the report shows about one device for the day: its charts, summary rows, alarms and data coverage.
struct DeviceReport {
    var device: StoredDevice
    var charts: [Chart] = []
    /// Raw metrics left without a chart (beyond `DeviceReportBuilder.maximumCharts`).
    var unchartedSeries = 0
    var summary: [[ExportValue]] = []
    var alarms: [[ExportValue]] = []
    /// Distinct report times in the day, and how many its median interval would give over the whole day.
    var reports = 0
    var expectedReports: Int?
    var firstReport: Int64?
    var lastReport: Int64?

    var identity: String { device.identity }
    var label: String { Self.label(product: device.product, name: device.name) }

    /// How a device is named for people: `NAME (PRODUCT)`.
    static func label(product: String, name: String) -> String { "\(name) (\(product))" }

    var coverage: Double? { expectedReports.map { $0 > 0 ? min(1, Double(reports) / Double($0)) : 0 } }
}
