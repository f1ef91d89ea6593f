import Foundation
import Testing
@testable import ThingLogCore
@testable import ThingLogCLI

/// The compact raw archive's split of a payload into shape and numbers (issue 13).
@Suite struct PayloadShapeTests {
    func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test func aReportSplitsIntoItsLayoutAndItsNumbers() throws {
        let payload = bytes(#"{"clientToken":"dev1-7","params":{"MQ135":157,"DHT11_T":-2.05},"#
                            + #""timestamp":1764115213515}"#)
        let shape = try #require(PayloadShape(payload: payload, receivedAt: 1_764_115_213_600))
        // Digits after a letter or `_` stay (MQ135, DHT11_T, dev1); 7, 157, 2, the fraction 05 (5 · 17 + 1) and
        // the timestamp (85 ms before the receive time) are taken out.
        #expect(shape.shape == bytes(#"{"clientToken":"dev1-\#u{0}","params":{"MQ135":\#u{0},"#
                                    + #""DHT11_T":-\#u{0}.\#u{3}},"#
                                    + #""timestamp":\#u{1}}"#))
        #expect(shape.numbers == [7, 0x9D, 0x01, 2, 86, 0xA9, 0x01])
        #expect(shape.payload(receivedAt: 1_764_115_213_600) == payload)
        // The next report of the same layout has the same shape: the store keeps it once.
        // The next report of the same layout has the same shape (the store keeps it once), whatever its fraction's
        // leading zeros.
        let next = bytes(#"{"clientToken":"dev1-8","params":{"MQ135":9,"DHT11_T":-21.5},"timestamp":1764115223515}"#)
        let other = try #require(PayloadShape(payload: next, receivedAt: 1_764_115_223_530))
        #expect(other.shape == shape.shape)
        #expect(other.numbers == [8, 9, 21, 85, 0x1D])
    }

    @Test func secondsTimestampsZerosAndLongRunsRoundTrip() throws {
        let cases = [
            #"{"timestamp":1604458421,"params":{"a":0,"b":00,"c":007,"d":0.000,"e":1.00000000000000000001}}"#,
            #"{"big":123456789012345678,"bigger":1234567890123456789,"huge":1e308,"neg":-9223372036854775808}"#,
            #"{"far":99999999999999,"past":100000000000,"s":"2025-11-26T00:00:00.000Z"}"#,
            #"{"x":"MQ2_3 a1b2 _9 9_ é7 \u0000 🙂12"}"#, "", "0", "00", "{}", "1.5e-07", ".0", "..05", "1.",
        ]
        for text in cases {
            for receivedAt: Int64 in [0, 1_604_458_421_000, 1_764_115_213_600, -1, 946_684_800_000] {
                let shape = try #require(PayloadShape(payload: bytes(text), receivedAt: receivedAt), "\(text)")
                #expect(shape.payload(receivedAt: receivedAt) == bytes(text), "\(text) at \(receivedAt)")
            }
        }
    }

    @Test func placeholderBytesKeepThePayloadRaw() {
        for byte: UInt8 in 0...PayloadShape.maximumPlaceholder {
            let payload = bytes(#"{"a":""#) + [byte] + bytes(#"1"}"#)
            #expect(PayloadShape(payload: payload, receivedAt: 0) == nil)
        }
        #expect(PayloadShape(payload: bytes(#"{"a":"\u0001"}"#), receivedAt: 0) != nil, "an escaped one is text")
    }

    @Test(arguments: [1, 2, 3])
    func randomPayloadsRoundTripExactly(seed: UInt64) throws {
        var generator = SeededGenerator(seed: seed)
        let alphabet = bytes(#"0123456789000-..eE+"{}[],:abcMQ_ Tz"#) + [0xC3, 0xA9, 0x7F, 0x05]
        for _ in 0..<3_000 {
            let count = Int.random(in: 0...80, using: &generator)
            let payload = (0..<count).map { _ in alphabet.randomElement(using: &generator) ?? 0x30 }
            let receivedAt = [Int64.random(in: .min ... .max, using: &generator),
                              Int64.random(in: 946_684_800_000...4_102_444_800_000, using: &generator)][count % 2]
            let shape = try #require(PayloadShape(payload: payload, receivedAt: receivedAt))
            #expect(shape.payload(receivedAt: receivedAt) == payload)
            #expect(shape.shape.filter { $0 > 3 }.count + shape.numbers.count <= payload.count + 2 * shape.shape.count)
        }
    }

    /// The split as its documentation states it, a byte at a time: the word-at-a-time scan must find the same.
    func referenceSplit(_ payload: [UInt8], receivedAt: Int64) -> PayloadShape? {
        func isDigit(_ byte: UInt8) -> Bool { (0x30...0x39).contains(byte) }
        func isWord(_ byte: UInt8) -> Bool {
            isDigit(byte) || byte == 0x5F || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
        }
        func varint(_ value: UInt64) -> [UInt8] {
            var value = value, out: [UInt8] = []
            while value >= 0x80 { out.append(UInt8(value & 0x7F) | 0x80); value >>= 7 }
            return out + [UInt8(value)]
        }
        func zigzag(_ value: Int64) -> UInt64 { UInt64(bitPattern: value >= 0 ? value * 2 : -value * 2 - 1) }
        guard !payload.contains(where: { $0 <= 4 }) else { return nil }
        var shape: [UInt8] = [], numbers: [UInt8] = []
        var index = 0
        while index < payload.count {
            guard isDigit(payload[index]), index == 0 || !isWord(payload[index - 1]) else {
                shape.append(payload[index]); index += 1; continue
            }
            var end = index
            while end < payload.count, isDigit(payload[end]) { end += 1 }
            let digits = Array(payload[index..<end])
            if digits.count > 18 { shape += digits; index = end; continue }
            let value = Int64(String(decoding: digits, as: UTF8.self))!
            let zeros = digits.dropLast().prefix { $0 == 0x30 }.count
            if index > 0, payload[index - 1] == 0x2E, digits.count <= 17 {
                shape.append(3); numbers += varint(UInt64(value) * 17 + UInt64(digits.count - 1))
            } else if zeros > 0 {
                shape.append(4); numbers += varint(UInt64(value)) + varint(UInt64(zeros))
            } else if (100_000_000_000..<100_000_000_000_000).contains(value),
                      case (let difference, false) = value.subtractingReportingOverflow(receivedAt) {
                shape.append(1); numbers += varint(zigzag(difference))
            } else if (1_000_000_000..<100_000_000_000).contains(value),
                      case (let difference, false) = value.subtractingReportingOverflow(receivedAt / 1000) {
                shape.append(2); numbers += varint(zigzag(difference))
            } else {
                shape.append(0); numbers += varint(UInt64(value))
            }
            index = end
        }
        return PayloadShape(shape: shape, numbers: numbers)
    }

    @Test(arguments: [4, 5, 6])
    func theSplitIsTheDocumentedOneAtEveryAlignment(seed: UInt64) {
        var generator = SeededGenerator(seed: seed)
        // Digits, word bytes and separators, bytes just around the digits and the placeholders, and UTF-8.
        let alphabet = bytes(#"0123456789_aZ.-/:"{}, "#)
            + [0x2F, 0x3A, 0x40, 0x5B, 0x60, 0x7B, 0x05, 0x06, 0x7F, 0x80, 0xC3, 0xA9, 0xFF, 0x04, 0x00, 0x01]
        for _ in 0..<4_000 {
            let count = Int.random(in: 0...70, using: &generator)
            var payload = (0..<count).map { _ in alphabet.randomElement(using: &generator) ?? 0x30 }
            if count > 0, Bool.random(using: &generator) {
                // Long runs of digits and timestamps near the receive time, at any offset.
                let at = Int.random(in: 0..<count, using: &generator)
                payload.insert(contentsOf: bytes(String(Int64.random(in: 0...Int64.max, using: &generator))), at: at)
            }
            let receivedAt = Int64.random(in: 946_684_800_000...4_102_444_800_000, using: &generator)
            let split = PayloadShape(payload: payload, receivedAt: receivedAt)
            #expect(split == referenceSplit(payload, receivedAt: receivedAt), "\(payload)")
            if let split { #expect(split.payload(receivedAt: receivedAt) == payload) }
        }
    }

    /// A device's report is split along its last one's shape: that must give exactly the split whenever the payload
    /// has that shape, and nothing when it has another.
    @Test(arguments: [7, 8, 9])
    func aSplitAlongAShapeIsTheSplitWheneverThePayloadHasIt(seed: UInt64) throws {
        var generator = SeededGenerator(seed: seed)
        let alphabet = bytes(#"0123456789_aZ.-/:"{}, e"#) + [0x05, 0x7F, 0xC3, 0xA9, 0x00]
        let reports = [#"{"method":"report","clientToken":"dev1-17","params":{"MQ2":148,"MQ135":127,"#
                       + #""DHT11_T":21.05,"DHT11_H":-47},"timestamp":1795978277796}"#,
                       #"{"method":"report","params":{"a":007,"b":1604458421,"c":1.5e-07,"d":0.000}}"#]
        var alongShape = 0
        for round in 0..<6_000 {
            let base: [UInt8]
            if round % 3 == 0 {
                base = (0..<Int.random(in: 0...60, using: &generator)).map { _ in
                    alphabet.randomElement(using: &generator) ?? 0x30
                }
            } else {
                base = bytes(reports[round % 2])
            }
            // The variant: digits changed, runs grown or shortened, in a round of four another byte or two.
            var variant: [UInt8] = []
            let inserts = round % 4 == 0
            for byte in base {
                let isDigit = (0x30...0x39).contains(byte)
                switch Int.random(in: 0..<(inserts ? 20 : 40), using: &generator) {
                case 0 where isDigit: break
                case 1 where inserts: variant += [byte, alphabet.randomElement(using: &generator) ?? 0x30]
                case 1, 10...12 where isDigit: variant += [byte, UInt8.random(in: 0x30...0x39, using: &generator)]
                case 2...9 where isDigit: variant.append(UInt8.random(in: 0x30...0x39, using: &generator))
                default: variant.append(byte)
                }
            }
            let receivedAt = Int64.random(in: 946_684_800_000...4_102_444_800_000, using: &generator)
            guard let shape = PayloadShape(payload: base, receivedAt: receivedAt)?.shape else { continue }
            let along = PayloadShape.numbers(of: variant, shapedLike: shape, receivedAt: receivedAt)
            let split = PayloadShape(payload: variant, receivedAt: receivedAt)
            let placeholders = shape.filter { $0 <= PayloadShape.maximumPlaceholder }.count
            if let (numbers, lengths) = along {
                alongShape += 1
                #expect(split == PayloadShape(shape: shape, numbers: numbers), "\(variant)")
                var expected = [Int32](repeating: 0, count: 64)
                let count = variant.withUnsafeBufferPointer { payload in
                    shape.withUnsafeBufferPointer { shape in
                        expected.withUnsafeMutableBufferPointer {
                            PayloadShape.tokenLengths(of: shape, in: payload, into: $0)
                        }
                    }
                }
                #expect(count == placeholders && lengths.map(Int32.init) == Array(expected.prefix(placeholders)),
                        "\(variant)")
            } else {
                #expect(split?.shape != shape || placeholders > 64, "\(variant) has the shape")
            }
        }
        #expect(alongShape > 400, "variants split along the shape")
    }

    @Test func numbersThatDoNotFitTheShapeAreNoPayload() {
        let shape = PayloadShape(shape: [0x7B, 0x00, 0x01, 0x7D], numbers: [5])
        #expect(shape.payload(receivedAt: 0) == nil, "a number missing")
        #expect(PayloadShape(shape: [0x00], numbers: [5, 6]).payload(receivedAt: 0) == nil, "a number left over")
        #expect(PayloadShape(shape: [0x00], numbers: [0xFF]).payload(receivedAt: 0) == nil, "a cut varint")
        #expect(PayloadShape(shape: [0x04], numbers: [1, 99]).payload(receivedAt: 0) == nil, "too many zeros")
        #expect(PayloadShape(shape: [0x03], numbers: [0xAA, 0x01]).payload(receivedAt: 0) == nil,
                "10 as a fraction of one digit")
        #expect(PayloadShape(shape: [0x01], numbers: [1]).payload(receivedAt: 0) == nil, "a negative time")
        let tooBig: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]
        #expect(PayloadShape(shape: [0x00], numbers: tooBig).payload(receivedAt: 0) == nil)
        #expect(PayloadShape(shape: [0x01], numbers: tooBig).payload(receivedAt: .max) == nil, "an overflow")
    }
}
