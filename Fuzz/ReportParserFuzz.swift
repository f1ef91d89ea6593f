// fuzz target `report`: ReportParser.entry(for:) on one message.
// Input layout: 8 bytes (little-endian Int64 receive time), then the topic up to the first newline, then the payload.
// Each message is parsed with the fixed receive time and with the input's (so extreme receive times are exercised),
// with and without the data template, with and without the report fast path (the outcomes must agree), and once more
// with the payload pre-parsed as a jsonl record would hand it.
@testable import ThingLogCore
@testable import ThingLogStore
@testable import ThingLogIngest

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafeRawPointer, _ size: Int) -> CInt {
    let all = UnsafeBufferPointer(start: data.assumingMemoryBound(to: UInt8.self), count: size)
    var stamp: UInt64 = 0
    for index in 0..<min(8, size) { stamp |= UInt64(all[index]) << (8 * UInt64(index)) }
    let receivedAt = Int64(bitPattern: stamp)
    let rest = UnsafeBufferPointer(rebasing: all[min(8, size)...])
    let newline = rest.firstIndex(of: 0x0A) ?? rest.endIndex
    let topic = String(decoding: UnsafeBufferPointer(rebasing: rest[rest.startIndex..<newline]), as: UTF8.self)
    let payload = newline < rest.endIndex ? Array(rest[(newline + 1)...]) : []

    let plain = ReportParser()
    let templated = ReportParser(template: fuzzTemplate)
    for time in [fixedNow, receivedAt] {
        for origin in [IncomingMessage.Origin.live, .recorded] {
            let message = IncomingMessage(topic: topic, payload: payload, receivedAt: time, packetID: 7,
                                          isRedelivery: origin == .live, origin: origin)
            // The report fast path and the general parse agree on every message.
            for parser in [plain, templated] {
                let general: StoreEntry = switch parser.parse(message, fastPath: false) {
                case .accepted(let parsed): .accepted(message, parsed)
                case .rejected(let rejection): .rejected(rejection)
                }
                let either = parser.entry(for: message)
                fuzzCheck(summary(either) == summary(general), "the fast path changes the outcome:\n"
                          + "  \(summary(either))\n  \(summary(general))")
            }
            let entry = templated.entry(for: message)
            // A jsonl record hands its object payload over already parsed: the outcome must not change.
            let parsed: JSONValue? = payload.withUnsafeBufferPointer { buffer in
                UTF8Validation.isValid(buffer) ? try? JSONParser.parse(buffer) : nil
            }
            if let parsed {
                let again = templated.entry(for: message, parsedPayload: parsed)
                fuzzCheck(summary(entry) == summary(again), "pre-parsed payload changes the outcome:\n"
                          + "  \(summary(entry))\n  \(summary(again))")
            }
        }
    }
    return 0
}
