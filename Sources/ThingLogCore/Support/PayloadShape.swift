/// A payload split into its shape and its numbers, so that the raw archive stores what repeats (a device's keys,
/// method, token prefix) once per device and only the numbers per report (issue 13: ≤ 24 bytes per reading with an
/// exact archive).
///
/// The shape is the payload with every number token replaced by a one-byte placeholder; `numbers` holds the tokens
/// as varints. A number token is a run of 1–18 ASCII digits not preceded by a letter, digit or `_` (so `MQ135` and
/// `DHT11_T` stay in the shape). Placeholders, each followed in `numbers` by:
/// - `0x00` n: the digits of n (no leading zero);
/// - `0x01` zigzag(n − receivedAt): a millisecond timestamp near the receive time (n in [1e11, 1e14));
/// - `0x02` zigzag(n − receivedAt / 1000): a timestamp in seconds (n in [1e9, 1e11));
/// - `0x03` n · 17 + (length − 1): the 1–17 digits after a `.`, leading zeros included, so that `25.5` and `25.05`
///   have one shape;
/// - `0x04` n, z: z zeros, then the digits of n (any other run with a leading zero, such as `007`).
///
/// A payload holding a byte ≤ 0x04 has no shape (valid JSON never holds one raw): the store keeps its raw bytes.
/// `payload(receivedAt:)` is the exact inverse (SPEC §5: byte for byte), by construction: each placeholder keeps
/// what its digits need (their count after a `.`, their leading zeros; a timestamp whose difference to the receive
/// time would overflow is written as plain digits). The property tests and the `payload-shape` fuzz target check
/// that round trip on arbitrary bytes, so it is not checked again for every report (that cost a tenth of the live
/// parsing thread).
public struct PayloadShape: Equatable, Sendable {
    public var shape: [UInt8]
    public var numbers: [UInt8]

    /// Digits kept in one token: 10^18 − 1 fits an Int64.
    static let maximumDigits = 18
    /// Digits after a `.` written as one number with their count (n · 17 + 16 < 2^64).
    static let maximumFractionDigits = 17
    /// Bytes at or below this are placeholders: a payload holding one stays raw.
    public static let maximumPlaceholder: UInt8 = 0x04

    public init(shape: [UInt8], numbers: [UInt8]) {
        self.shape = shape
        self.numbers = numbers
    }

    /// The shape of `payload`, or nil when it holds a placeholder byte.
    public init?(payload: [UInt8], receivedAt: Int64) {
        guard let split = payload.withUnsafeBufferPointer({ input in
            // Split into scratch memory, then keep arrays of the exact sizes (the store holds many parsed messages
            // at once). A shape is never longer than its payload; a token of k digits takes at most 2k bytes.
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: input.count * 3 + 16) { scratch in
                let shapeArea = UnsafeMutableBufferPointer(rebasing: scratch[..<input.count])
                let numberArea = UnsafeMutableBufferPointer(rebasing: scratch[input.count...])
                return Self.split(input, receivedAt: receivedAt, shape: shapeArea, numbers: numberArea).map {
                    (Array(shapeArea[..<$0.shape]), Array(numberArea[..<$0.numbers]))
                }
            }
        }) else { return nil }
        (shape, numbers) = split
    }

    /// Writes the shape and the numbers of `input`; nil when it holds a placeholder byte.
    private static func split(_ input: UnsafeBufferPointer<UInt8>, receivedAt: Int64,
                              shape: UnsafeMutableBufferPointer<UInt8>,
                              numbers: UnsafeMutableBufferPointer<UInt8>) -> (shape: Int, numbers: Int)? {
        var shapeCount = 0, numberCount = 0
        var index = 0
        let count = input.count
        let inputBase = input.baseAddress, shapeBase = shape.baseAddress
        while index < count {
            // Literal bytes go to the shape eight at a time: each word is stored whole (`index` is at most `count`
            // − 8 here and `shapeCount` at most `index`, so it stays inside the shape's room), and only its bytes
            // before the first digit or placeholder byte count.
            if index + 8 <= count, let inputBase, let shapeBase {
                let word = UnsafeRawPointer(inputBase + index).loadUnaligned(as: UInt64.self)
                UnsafeMutableRawPointer(shapeBase + shapeCount).storeBytes(of: word, as: UInt64.self)
                let special = firstSpecialByte(in: UInt64(littleEndian: word))
                shapeCount += special
                index += special
                if special == 8 { continue }
            }
            let byte = input[index]
            if byte <= maximumPlaceholder { return nil }
            guard isDigit(byte), index == 0 || !isWordByte(input[index - 1]) else {
                shape[shapeCount] = byte
                shapeCount += 1
                index += 1
                continue
            }
            guard let token = readToken(input, at: index, receivedAt: receivedAt, into: numbers, count: &numberCount)
            else {
                // Too many digits for one token: they stay in the shape.
                while index < count, isDigit(input[index]) {
                    shape[shapeCount] = input[index]
                    shapeCount += 1
                    index += 1
                }
                continue
            }
            shape[shapeCount] = token.placeholder
            shapeCount += 1
            index = token.end
        }
        return (shapeCount, numberCount)
    }

    /// The token of digits starting at `index` (a digit not after a word byte): its end and its placeholder, its
    /// numbers written at `numbers[count...]`; nil when the run is longer than `maximumDigits` (then it is no token).
    /// `split` and `numbers(of:shapedLike:)` both read tokens here, so they classify them alike.
    @inline(__always)
    private static func readToken(_ input: UnsafeBufferPointer<UInt8>, at index: Int, receivedAt: Int64,
                                  into numbers: UnsafeMutableBufferPointer<UInt8>,
                                  count: inout Int) -> (end: Int, placeholder: UInt8)? {
        func put(_ value: UInt64) {
            var value = value
            while value >= 0x80 {
                numbers[count] = UInt8(truncatingIfNeeded: value) | 0x80
                count += 1
                value >>= 7
            }
            numbers[count] = UInt8(value)
            count += 1
        }
        // One pass over the run: its end, and its value (leading zeros add nothing; a run too long is no token).
        var end = index
        var value: Int64 = 0
        while end < input.count {
            let digit = input[end] &- UInt8(ascii: "0")
            guard digit < 10 else { break }
            end += 1
            guard end - index <= maximumDigits else { continue }
            value = value &* 10 &+ Int64(digit)
        }
        let length = end - index
        guard length <= maximumDigits else { return nil }
        if index > 0, input[index - 1] == UInt8(ascii: "."), length <= maximumFractionDigits {
            put(UInt64(value) * UInt64(maximumFractionDigits) + UInt64(length - 1))
            return (end, 0x03)
        }
        if input[index] == UInt8(ascii: "0"), length > 1 {
            var zeros = 1
            while zeros < length - 1, input[index + zeros] == UInt8(ascii: "0") { zeros += 1 }
            put(UInt64(value))
            put(UInt64(zeros))
            return (end, 0x04)
        }
        // A timestamp near the receive time: 12–14 digits in milliseconds, 10–11 in seconds.
        if length >= 12, value < 100_000_000_000_000 {
            let milliseconds = value.subtractingReportingOverflow(receivedAt)
            if !milliseconds.overflow {
                put(zigzag(milliseconds.partialValue))
                return (end, 0x01)
            }
        } else if length >= 10, length <= 11 {
            let seconds = value.subtractingReportingOverflow(receivedAt / 1000)
            if !seconds.overflow {
                put(zigzag(seconds.partialValue))
                return (end, 0x02)
            }
        }
        put(UInt64(value))
        return (end, 0x00)
    }

    /// The numbers of `payload` when it splits into exactly `shape`, a shape `init(payload:receivedAt:)` gave: the
    /// numbers that initializer would give, with each placeholder's digit count in `lengths`; nil when the payload
    /// has another shape, or more placeholders than `lengths` holds. A device repeats one shape, so its reports are
    /// split along the last one's, comparing bytes instead of classifying each. The result is the split's: the bytes
    /// between the shape's placeholders are compared with the payload's, and each placeholder's digits must be a
    /// token of the placeholder the shape holds (read by the same `readToken`, starting after the same byte and
    /// ending at the same byte as in the payload the shape came from).
    package static func numbers(of payload: UnsafeBufferPointer<UInt8>, shapedLike shape: UnsafeBufferPointer<UInt8>,
                                receivedAt: Int64, lengths: UnsafeMutableBufferPointer<UInt8>) -> [UInt8]? {
        guard let shapeBase = shape.baseAddress, let payloadBase = payload.baseAddress else {
            return shape.isEmpty && payload.isEmpty ? [] : nil
        }
        // A token of k digits takes at most 2k bytes of numbers.
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: payload.count * 2 + 16) { numbers in
            var index = 0, position = 0, count = 0, placeholders = 0
            while position < shape.count {
                if position + 8 <= shape.count, index + 8 <= payload.count {
                    // Eight bytes at a time: the shape's literal bytes before its first placeholder must be the
                    // payload's.
                    let word = UInt64(littleEndian: UnsafeRawPointer(shapeBase + position)
                        .loadUnaligned(as: UInt64.self))
                    let other = UInt64(littleEndian: UnsafeRawPointer(payloadBase + index)
                        .loadUnaligned(as: UInt64.self))
                    let literals = firstPlaceholder(in: word)
                    let mask: UInt64 = literals == 8 ? ~0 : (1 << UInt64(8 * literals)) - 1
                    guard (word ^ other) & mask == 0 else { return nil }
                    position += literals
                    index += literals
                    if literals == 8 { continue }
                } else if shape[position] > maximumPlaceholder {
                    guard index < payload.count, payload[index] == shape[position] else { return nil }
                    position += 1
                    index += 1
                    continue
                }
                guard index < payload.count, isDigit(payload[index]), index == 0 || !isWordByte(payload[index - 1]),
                      placeholders < lengths.count,
                      let token = readToken(payload, at: index, receivedAt: receivedAt, into: numbers, count: &count),
                      token.placeholder == shape[position] else { return nil }
                lengths[placeholders] = UInt8(token.end - index)   // at most `maximumDigits`
                placeholders += 1
                index = token.end
                position += 1
            }
            return index == payload.count ? Array(numbers[..<count]) : nil
        }
    }

    /// `numbers(of:shapedLike:receivedAt:lengths:)` over arrays: the numbers and the placeholders' digit counts.
    package static func numbers(of payload: [UInt8], shapedLike shape: [UInt8],
                                receivedAt: Int64) -> (numbers: [UInt8], lengths: [UInt8])? {
        var lengths = [UInt8](repeating: 0, count: 64)
        let numbers = payload.withUnsafeBufferPointer { payload in
            shape.withUnsafeBufferPointer { shape in
                lengths.withUnsafeMutableBufferPointer {
                    Self.numbers(of: payload, shapedLike: shape, receivedAt: receivedAt, lengths: $0)
                }
            }
        }
        let placeholders = shape.count { $0 <= maximumPlaceholder }
        return numbers.map { ($0, Array(lengths.prefix(placeholders))) }
    }

    /// The payload back, or nil when `numbers` does not fit `shape` (a damaged row).
    public func payload(receivedAt: Int64) -> [UInt8]? {
        filled(receivedAt: receivedAt) { Array($0) }
    }

    /// Fills the shape into scratch memory and hands the bytes to `body`; nil when the numbers do not fit.
    private func filled<T>(receivedAt: Int64, _ body: (UnsafeBufferPointer<UInt8>) -> T) -> T? {
        shape.withUnsafeBufferPointer { shape in
            numbers.withUnsafeBufferPointer { numbers in
                // A literal byte gives itself; a placeholder (a byte of the shape, taking at least one byte of
                // numbers) at most 19 digits, or 18 zeros and 18 digits.
                let capacity = shape.count + min(shape.count, numbers.count) * 35 + 1
                return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: capacity) { output in
                    var count = 0
                    guard Self.fill(shape, numbers, receivedAt: receivedAt, into: output, count: &count) else {
                        return nil
                    }
                    return body(UnsafeBufferPointer(rebasing: output[..<count]))
                }
            }
        }
    }

    /// Writes the shape with its placeholders replaced; false when the numbers do not fit.
    private static func fill(_ shape: UnsafeBufferPointer<UInt8>, _ numbers: UnsafeBufferPointer<UInt8>,
                             receivedAt: Int64, into output: UnsafeMutableBufferPointer<UInt8>,
                             count: inout Int) -> Bool {
        var cursor = 0
        func next() -> UInt64? {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while cursor < numbers.count, shift < 64 {
                let byte = numbers[cursor]
                cursor += 1
                value |= UInt64(byte & 0x7F) << shift
                if byte < 0x80 { return value }
                shift += 7
            }
            return nil
        }
        func digits(_ value: Int64) {
            var rest = value
            var length = 1
            while rest >= 10 {
                rest /= 10
                length += 1
            }
            rest = value
            for position in stride(from: count + length - 1, through: count, by: -1) {
                output[position] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
            }
            count += length
        }
        guard let shapeBase = shape.baseAddress, let outputBase = output.baseAddress else { return numbers.isEmpty }
        var index = 0
        while index < shape.count {
            // Literal bytes give themselves, eight at a time: each word is stored whole and only its bytes before
            // the first placeholder count. Every byte of the shape left gives at least one byte, so `count` + 8
            // stays inside what the whole payload takes (and the capacity allows for).
            if index + 8 <= shape.count {
                let word = UnsafeRawPointer(shapeBase + index).loadUnaligned(as: UInt64.self)
                UnsafeMutableRawPointer(outputBase + count).storeBytes(of: word, as: UInt64.self)
                let literals = firstPlaceholder(in: UInt64(littleEndian: word))
                count += literals
                index += literals
                if literals == 8 { continue }
            } else if shape[index] > maximumPlaceholder {
                output[count] = shape[index]
                count += 1
                index += 1
                continue
            }
            let byte = shape[index]
            index += 1
            guard let raw = next() else { return false }
            switch byte {
            case 0x00:
                guard raw < 1_000_000_000_000_000_000 else { return false }
                digits(Int64(raw))
            case 0x01, 0x02:
                let base = byte == 0x01 ? receivedAt : receivedAt / 1000
                let (value, overflow) = base.addingReportingOverflow(unzigzag(raw))
                guard !overflow, value >= 0 else { return false }
                digits(value)
            case 0x03:
                let length = Int(raw % UInt64(maximumFractionDigits)) + 1
                let value = Int64(raw / UInt64(maximumFractionDigits))
                var digitCount = 1
                var rest = value
                while rest >= 10 {
                    rest /= 10
                    digitCount += 1
                }
                guard digitCount <= length else { return false }
                for _ in digitCount..<length {
                    output[count] = UInt8(ascii: "0")
                    count += 1
                }
                digits(value)
            default:
                guard raw < 1_000_000_000_000_000_000, let zeros = next(), zeros <= UInt64(maximumDigits) else {
                    return false
                }
                for _ in 0..<zeros {
                    output[count] = UInt8(ascii: "0")
                    count += 1
                }
                digits(Int64(raw))
            }
        }
        return cursor == numbers.count
    }

    /// The length of each placeholder's digits in `payload`, a payload that splits into `shape`, written to `lengths`
    /// in order; the number of placeholders, or nil when `lengths` has no room for them all or the payload does not
    /// fit the shape.
    package static func tokenLengths(of shape: UnsafeBufferPointer<UInt8>, in payload: UnsafeBufferPointer<UInt8>,
                                     into lengths: UnsafeMutableBufferPointer<Int32>) -> Int? {
        guard let shapeBase = shape.baseAddress else { return payload.isEmpty ? 0 : nil }
        var index = 0, offset = 0, count = 0
        while index < shape.count {
            if index + 8 <= shape.count {
                let literals = firstPlaceholder(in: UInt64(littleEndian: UnsafeRawPointer(shapeBase + index)
                    .loadUnaligned(as: UInt64.self)))
                index += literals
                offset += literals
                if literals == 8 { continue }
            } else if shape[index] > maximumPlaceholder {
                index += 1
                offset += 1
                continue
            }
            let start = offset
            while offset < payload.count, isDigit(payload[offset]) { offset += 1 }
            guard count < lengths.count, offset > start else { return nil }
            lengths[count] = Int32(offset - start)
            count += 1
            index += 1
        }
        return offset == payload.count ? count : nil
    }

    /// How many bytes of `word` (little-endian) come before its first placeholder byte (8: none).
    private static func firstPlaceholder(in word: UInt64) -> Int {
        let ones: UInt64 = 0x0101_0101_0101_0101
        return ((word &- ones &* UInt64(maximumPlaceholder + 1)) & ~word & 0x8080_8080_8080_8080)
            .trailingZeroBitCount / 8
    }

    /// How many bytes of `word` (little-endian) come before its first digit or placeholder byte (8: none). A byte
    /// below n sets its top bit in `(word − n·0x01…) & ~word & 0x80…`, and borrows set only later bits, so the
    /// lowest set bit is exact; digits are the bytes below 10 once XORed with `0`.
    private static func firstSpecialByte(in word: UInt64) -> Int {
        let ones: UInt64 = 0x0101_0101_0101_0101, tops: UInt64 = 0x8080_8080_8080_8080
        let digits = word ^ (ones &* UInt64(UInt8(ascii: "0")))
        let below = ((word &- ones &* UInt64(maximumPlaceholder + 1)) & ~word
            | (digits &- ones &* 10) & ~digits) & tops
        return below.trailingZeroBitCount / 8
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte &- UInt8(ascii: "0") < 10 }

    private static func isWordByte(_ byte: UInt8) -> Bool {
        isDigit(byte) || byte == UInt8(ascii: "_") || (byte | 0x20) &- UInt8(ascii: "a") < 26
    }

    private static func zigzag(_ value: Int64) -> UInt64 { UInt64(bitPattern: (value << 1) ^ (value >> 63)) }

    private static func unzigzag(_ raw: UInt64) -> Int64 { Int64(bitPattern: raw >> 1) ^ -Int64(bitPattern: raw & 1) }
}
