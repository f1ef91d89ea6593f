import ThingLogCore
import ThingLogStore
import ThingLogAnalysis

/// Encodes export rows as bytes in one format (SPEC §4): CSV per RFC 4180, or JSON objects for `json` / `jsonl`.
/// Built for millions of rows: text columns that repeat from row to row (device, metric) are encoded once, and
/// timestamps reuse the formatted date of the previous row.
struct RowEncoder {
    enum Format { case csv, json }

    let format: Format
    private let keys: [[UInt8]]
    private var lastText: [String?]
    private var lastEncoded: [[UInt8]]
    private var lastDay: Int64 = .min
    private var dayPrefix: [UInt8] = []

    init(format: Format, columns: [String]) {
        self.format = format
        keys = columns.map { Array((JSONWriter.quoted($0) + ":").utf8) }
        lastText = Array(repeating: nil, count: columns.count)
        lastEncoded = Array(repeating: [], count: columns.count)
    }

    /// Appends one row (CSV: with CRLF; JSON: the object alone).
    mutating func append(_ values: [ExportValue], to buffer: inout [UInt8]) {
        if format == .json { buffer.append(UInt8(ascii: "{")) }
        for (index, value) in values.enumerated() {
            if index > 0 { buffer.append(UInt8(ascii: ",")) }
            if format == .json { buffer.append(contentsOf: keys[index]) }
            switch value {
            case .text(let text):
                // Compared as bytes: `café` and `cafe\u{301}` are equal Strings but different devices (SPEC §5).
                if !(lastText[index].map { hasSameBytes($0, text) } ?? false) {
                    lastText[index] = text
                    lastEncoded[index] = Array((format == .csv ? CSVWriter.field(text) : JSONWriter.quoted(text)).utf8)
                }
                buffer.append(contentsOf: lastEncoded[index])
            case .number(let number):
                appendNumber(number, to: &buffer)
            case .timestamp(let milliseconds):
                if format == .json { buffer.append(UInt8(ascii: "\"")) }
                appendTimestamp(milliseconds, to: &buffer)
                if format == .json { buffer.append(UInt8(ascii: "\"")) }
            case .empty:
                if format == .json { buffer.append(contentsOf: "null".utf8) }
            }
        }
        buffer.append(contentsOf: format == .json ? [UInt8(ascii: "}")] : [0x0D, 0x0A])
    }

    private func appendNumber(_ number: Double, to buffer: inout [UInt8]) {
        guard number.isFinite else {
            if format == .json { buffer.append(contentsOf: "null".utf8) }
            return
        }
        if number == number.rounded(), abs(number) < 1e15 {
            appendInteger(Int64(number), to: &buffer)
        } else {
            buffer.append(contentsOf: number.description.utf8)
        }
    }

    private func appendInteger(_ value: Int64, to buffer: inout [UInt8]) {
        if value < 0 { buffer.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { storage in
            repeat {
                storage[count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                count += 1
            } while magnitude > 0
            for index in stride(from: count - 1, through: 0, by: -1) { buffer.append(storage[index]) }
        }
    }

    /// `YYYY-MM-DDTHH:MM:SS.mmmZ`, as `Timestamp.iso8601`.
    private mutating func appendTimestamp(_ milliseconds: Int64, to buffer: inout [UInt8]) {
        let day = floorDivide(milliseconds, Timestamp.millisecondsPerDay)
        if day != lastDay {
            lastDay = day
            let midnight = Timestamp.iso8601(day * Timestamp.millisecondsPerDay)
            dayPrefix = Array(midnight.utf8.prefix { $0 != UInt8(ascii: "T") })
            dayPrefix.append(UInt8(ascii: "T"))
        }
        buffer.append(contentsOf: dayPrefix)
        let rest = milliseconds - day * Timestamp.millisecondsPerDay
        func two(_ value: Int64) {
            buffer.append(UInt8(ascii: "0") + UInt8(value / 10))
            buffer.append(UInt8(ascii: "0") + UInt8(value % 10))
        }
        two(rest / 3_600_000)
        buffer.append(UInt8(ascii: ":"))
        two(rest / 60_000 % 60)
        buffer.append(UInt8(ascii: ":"))
        two(rest / 1000 % 60)
        buffer.append(UInt8(ascii: "."))
        let millis = rest % 1000
        buffer.append(UInt8(ascii: "0") + UInt8(millis / 100))
        two(millis % 100)
        buffer.append(UInt8(ascii: "Z"))
    }
}
