/// A name compared and hashed as its UTF-8 bytes (SPEC §5: names are never Unicode-normalized).
///
/// Swift's `String` equality is canonical equivalence, so `"café" == "cafe\u{301}"`: a dictionary keyed by `String`
/// would merge two devices. Every cache keyed by a device-sent name uses this instead.
public struct ExactName: Hashable, Sendable, CustomStringConvertible {
    public let text: String

    public init(_ text: String) {
        var text = text
        text.makeContiguousUTF8()
        self.text = text
    }

    public static func == (lhs: ExactName, rhs: ExactName) -> Bool {
        lhs.text.utf8.elementsEqual(rhs.text.utf8)
    }

    public func hash(into hasher: inout Hasher) {
        let hashed: Void? = text.utf8.withContiguousStorageIfAvailable {
            hasher.combine(bytes: UnsafeRawBufferPointer($0))
        }
        if hashed == nil {
            for byte in text.utf8 { hasher.combine(byte) }
        }
        hasher.combine(0xFF as UInt8)
    }

    public var description: String { text }
}
