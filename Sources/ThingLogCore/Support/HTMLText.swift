/// Text escaped for HTML and SVG text content and quoted attribute values: `&`, `<`, `>`, `"` and `'` become
/// character references, so a device named `<img src=x onerror=alert(1)>` shows as that text and runs nothing.
/// Control characters other than tab and newline, which HTML does not allow, become U+FFFD.
package func htmlEscaped(_ text: String) -> String {
    var output = ""
    output.reserveCapacity(text.utf8.count)
    for scalar in text.unicodeScalars {
        switch scalar {
        case "&": output += "&amp;"
        case "<": output += "&lt;"
        case ">": output += "&gt;"
        case "\"": output += "&quot;"
        case "'": output += "&#39;"
        case "\t", "\n": output.unicodeScalars.append(scalar)
        default:
            if scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) {
                output += "\u{FFFD}"
            } else {
                output.unicodeScalars.append(scalar)
            }
        }
    }
    return output
}
