import ThingLogCore

/// How to read a report whose payload has a known shape (`PayloadShape`: the payload with its numbers taken out).
/// A device repeats one shape, and two payloads of one shape differ only in the digits of their numbers: the same
/// members, keys, strings and layout. So once the fast path has read one payload of a shape, a plan keeps where each
/// of its values lies, relative to the shape's placeholders, and the next payload of that shape has just those
/// values read again, in place, by the same scalar reader: no tokenizing of keys, punctuation and whitespace.
///
/// A plan is made only when no key holds a number (a key whose digits change would be another key), and it re-reads
/// every value whose bytes can change, so each message still gets every check the fast path makes of it.
final class ReportPlan: Sendable {
    /// What a value is in the report.
    enum Role: Equatable, Sendable {
        case param(Int)
        case clientToken
        case timestamp
        /// Another member's value: read for its checks only.
        case other
    }

    /// Where a value lies: its shape offsets, and how many placeholders come before each end.
    struct Segment: Sendable {
        var role: Role
        var start: Int32
        var placeholdersBeforeStart: Int32
        var end: Int32
        var placeholdersBeforeEnd: Int32
        /// The value is one placeholder of digits without a leading zero (`0x00`–`0x02`): in every payload of the
        /// shape a JSON integer, read from its digits.
        var isInteger = false
    }

    /// Placeholders a plan handles (a payload with more is read without one).
    static let maximumPlaceholders = 64

    let shape: [UInt8]
    let layout: ParseMemo.Layout
    let segments: [Segment]
    let placeholderCount: Int
    let paramCount: Int

    /// The plan for `shape`, from a payload of that shape that the fast path read: `keys` are the payload ranges
    /// of every key, `values` those of every scalar value with its role. Nil when a key holds a placeholder or the
    /// payload has too many.
    init?(shape: [UInt8], payload: UnsafeBufferPointer<UInt8>, layout: ParseMemo.Layout, keys: [Range<Int>],
          values: [(role: Role, range: Range<Int>)]) {
        // Each placeholder's payload range, in order.
        var lengths = [Int32](repeating: 0, count: Self.maximumPlaceholders)
        guard let count = shape.withUnsafeBufferPointer({ shape in
            lengths.withUnsafeMutableBufferPointer { PayloadShape.tokenLengths(of: shape, in: payload, into: $0) }
        }) else { return nil }
        var tokens: [Range<Int>] = []
        var offset = 0, placeholder = 0
        for byte in shape {
            if byte <= PayloadShape.maximumPlaceholder {
                let length = Int(lengths[placeholder])
                tokens.append(offset..<(offset + length))
                offset += length
                placeholder += 1
            } else {
                offset += 1
            }
        }
        // The shape offset of a payload offset outside every token, and how many tokens lie before it.
        func shapeOffset(_ position: Int) -> (offset: Int32, before: Int32)? {
            var before = 0, extra = 0
            for token in tokens {
                if token.upperBound <= position {
                    before += 1
                    extra += token.count - 1
                } else if token.lowerBound < position {
                    return nil
                }
            }
            return (Int32(position - extra), Int32(before))
        }
        guard !keys.contains(where: { key in tokens.contains { $0.overlaps(key) } }) else { return nil }
        var segments: [Segment] = []
        for value in values {
            // Values whose bytes cannot change need no second reading, unless the report is made of them.
            if value.role == .other, !tokens.contains(where: { $0.overlaps(value.range) }) { continue }
            guard let start = shapeOffset(value.range.lowerBound), let end = shapeOffset(value.range.upperBound)
            else { return nil }
            var segment = Segment(role: value.role, start: start.offset, placeholdersBeforeStart: start.before,
                                  end: end.offset, placeholdersBeforeEnd: end.before)
            segment.isInteger = end.offset - start.offset == 1 && end.before - start.before == 1
                && shape[Int(start.offset)] <= 0x02
            segments.append(segment)
        }
        self.shape = shape
        self.layout = layout
        self.segments = segments
        placeholderCount = count
        paramCount = layout.names.count
    }
}
