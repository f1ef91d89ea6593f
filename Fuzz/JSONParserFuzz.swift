// fuzz target `json`: JSONParser over arbitrary bytes, after UTF8Validation as every real caller does.
// Oracles: UTF8Validation agrees with the standard library; parseObjectWithSpans agrees with parse and each span
// re-parses to its member's value; a parsed document with finite numbers survives JSONWriter.serialize and back.
@testable import ThingLogCore
@testable import ThingLogStore
@testable import ThingLogIngest

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafeRawPointer, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data.assumingMemoryBound(to: UInt8.self), count: size)
    let isValid = UTF8Validation.isValid(bytes)
    fuzzCheck(isValid == (String(validating: bytes, as: UTF8.self) != nil),
              "UTF8Validation.isValid says \(isValid), the standard library disagrees")
    guard isValid else { return 0 }

    let document = try? JSONParser.parse(bytes)
    _ = try? JSONParser.parse(bytes, maxDepth: 2)
    let spans = try? JSONParser.parseObjectWithSpans(bytes)

    fuzzCheck((document?.members != nil) == (spans != nil),
              "parse gives \(document?.kindName ?? "an error"), "
              + "parseObjectWithSpans \(spans == nil ? "fails" : "works")")
    if let members = document?.members, let spans {
        fuzzCheck(members == spans.map(\.member), "parseObjectWithSpans members differ from parse")
        for (member, span) in spans {
            fuzzCheck(span.lowerBound >= 0 && span.upperBound <= size, "span \(span) outside \(size) bytes")
            let again = try? JSONParser.parse(UnsafeBufferPointer(rebasing: bytes[span]))
            fuzzCheck(again == member.value,
                      "the span of \(member.key.debugDescription) does not re-parse to its value")
        }
    }
    if let document, !ReportParser.containsNonFinite(document) {
        let text = JSONWriter.serialize(document)
        let again = try? JSONParser.parse(Array(text.utf8))
        fuzzCheck(again == document, "serialize/parse round trip changed the document: \(text.prefix(200))")
    } else if let document {
        fuzzCheck(ReportParser.nonFinitePath(in: document) != nil, "containsNonFinite without a nonFinitePath")
    }
    return 0
}
