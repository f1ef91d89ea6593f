// fuzz target `report`: ReportParser.entry(for:) on one message.
// Input layout: 8 bytes (little-endian Int64 receive time), then the topic up to the first newline, then the payload.
// Each message is parsed with the fixed receive time and with the input's (so extreme receive times are exercised),
// with and without the data template, with and without the report fast path (the outcomes must agree), and once more
// with the payload pre-parsed as a jsonl record would hand it. A payload of the same shape with other digits is then
// read by the plan the first one left (`ReportPlan`), split along that plan's shape: it must agree with the general
// parse too, and its split with the payload's own.
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
            let variant = IncomingMessage(topic: topic, payload: otherDigits(payload), receivedAt: time, packetID: 7,
                                          isRedelivery: origin == .live, origin: origin)
            if PayloadShape(payload: variant.payload, receivedAt: time)?.shape
                == PayloadShape(payload: payload, receivedAt: time)?.shape {
                let general: StoreEntry = switch templated.parse(variant, fastPath: false) {
                case .accepted(let parsed): .accepted(variant, parsed)
                case .rejected(let rejection): .rejected(rejection)
                }
                let planned = templated.entry(for: variant)
                fuzzCheck(summary(planned) == summary(general), "a plan changes the outcome:\n"
                          + "  \(summary(planned))\n  \(summary(general))")
                // Split along the shape the topic's last report left: exactly the payload's own split.
                if case .accepted(let accepted) = planned {
                    fuzzCheck(accepted.parsed.payloadShape == PayloadShape(payload: variant.payload, receivedAt: time),
                              "the split along the last shape differs from the payload's split")
                }
            }
        }
    }
    return 0
}

/// The payload with every digit of a digit run that does not follow a letter, digit or `_` moved on by one (9 → 0),
/// a leading one kept non-zero: mostly another payload of the same shape.
func otherDigits(_ payload: [UInt8]) -> [UInt8] {
    func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }
    func isWord(_ byte: UInt8) -> Bool {
        isDigit(byte) || byte == 0x5F || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
    }
    var output = payload
    var index = 0
    while index < payload.count {
        guard isDigit(payload[index]), index == 0 || !isWord(payload[index - 1]) else {
            index += 1
            continue
        }
        let start = index
        while index < payload.count, isDigit(payload[index]) {
            let next = payload[index] == 0x39 ? 0x30 : payload[index] + 1
            output[index] = index == start && next == 0x30 && index + 1 < payload.count && isDigit(payload[index + 1])
                ? 0x31 : next
            index += 1
        }
    }
    return output
}
