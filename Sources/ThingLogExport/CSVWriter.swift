import FoundationEssentials
import Dispatch
import Glibc

/// RFC 4180 CSV: fields quoted when they hold a comma, a quote, CR or LF (quotes doubled), CRLF line ends,
/// an empty field for null.
public enum CSVWriter {
    public static func field(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 == 0x2C || $0 == 0x22 || $0 == 0x0D || $0 == 0x0A }) else { return text }
        return "\"" + text.replacing("\"", with: "\"\"") + "\""
    }

    /// One record, CRLF included.
    public static func record(_ fields: [String?]) -> String {
        fields.map { $0.map(field) ?? "" }.joined(separator: ",") + "\r\n"
    }
}
