import ThingLogCore
import ThingLogStore

/// The output formats of `export` (SPEC §4).
public enum ExportFormat: String, CaseIterable, Sendable { case csv, json, jsonl }

/// Writes one export as a whole document in a format: the CSV header and rows, the JSON envelope
/// `{"kind", "from", "to", "generated_at", "rows"}`, or one JSON object a line. Bytes go to `sink` in pieces of about
/// 64 KiB, so a document of any size streams.
package struct ExportDocument {
    let kind: ExportKind
    let format: ExportFormat
    let filter: ExportFilter
    let generatedAt: Int64

    /// Returns the number of rows written.
    package func write(from exporter: Exporter, to sink: (inout [UInt8]) throws -> Void) throws -> Int {
        var bytes: [UInt8] = []
        switch format {
        case .csv: bytes.append(contentsOf: CSVWriter.record(kind.columns).utf8)
        case .json:
            func time(_ value: Int64?) -> String { value.map { JSONWriter.quoted(Timestamp.iso8601($0)) } ?? "null" }
            bytes.append(contentsOf: ("{\"kind\":\(JSONWriter.quoted(kind.rawValue)),\"from\":\(time(filter.from)),"
                + "\"to\":\(time(filter.to)),\"generated_at\":\(time(generatedAt)),\"rows\":[").utf8)
        case .jsonl: break
        }
        var encoder = RowEncoder(format: format == .csv ? .csv : .json, columns: kind.columns)
        var rowCount = 0
        try exporter.forEachRow(kind, filter: filter) { values in
            if format == .json && rowCount > 0 { bytes.append(UInt8(ascii: ",")) }
            encoder.append(values, to: &bytes)
            if format == .jsonl { bytes.append(0x0A) }
            rowCount += 1
            if bytes.count >= 1 << 16 { try sink(&bytes) }
        }
        if format == .json { bytes.append(contentsOf: "]}\n".utf8) }
        try sink(&bytes)
        return rowCount
    }

    package init(kind: ExportKind, format: ExportFormat, filter: ExportFilter, generatedAt: Int64) {
        self.kind = kind
        self.format = format
        self.filter = filter
        self.generatedAt = generatedAt
    }
}
