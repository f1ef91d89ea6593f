import Glibc

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
        hasSameBytes(lhs.text, rhs.text)
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

/// Whether `bytes` are exactly the UTF-8 of `text`, compared in place (iterating `utf8` costs far more per byte).
package func hasSameBytes(_ bytes: UnsafeBufferPointer<UInt8>, _ text: String) -> Bool {
    text.utf8.withContiguousStorageIfAvailable { textBytes in
        guard textBytes.count == bytes.count, let left = textBytes.baseAddress, let right = bytes.baseAddress
        else { return textBytes.count == bytes.count }
        return memcmp(left, right, bytes.count) == 0
    } ?? bytes.elementsEqual(text.utf8)
}

/// Whether two strings hold the same UTF-8 bytes (not merely canonically equivalent text, which is what `==` asks).
package func hasSameBytes(_ lhs: String, _ rhs: String) -> Bool {
    guard lhs.utf8.count == rhs.utf8.count else { return false }   // O(1) for native strings
    let compared = lhs.utf8.withContiguousStorageIfAvailable { left in
        rhs.utf8.withContiguousStorageIfAvailable { right in
            guard left.count == right.count, let leftBytes = left.baseAddress, let rightBytes = right.baseAddress
            else { return left.count == right.count }
            return memcmp(leftBytes, rightBytes, left.count) == 0
        }
    }
    return compared.flatMap { $0 } ?? lhs.utf8.elementsEqual(rhs.utf8)
}

/// The address of a String's UTF-8 bytes when it has storage of its own (more than 15 bytes, contiguous); nil for
/// one kept inside the String value. While a String is kept alive, no other String can have its bytes there: two
/// with one address are one String, so a cache that keeps the String can know it again by address alone, without
/// copying it (a copy writes its reference count).
package func storageAddress(of string: String) -> UInt? {
    guard string.utf8.count > 15 else { return nil }
    return string.utf8.withContiguousStorageIfAvailable { $0.baseAddress.map(UInt.init) } ?? nil
}
