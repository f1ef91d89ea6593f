import Glibc

/// The topic names a connection received last: every report of a device comes on the same topic, so a topic seen
/// before is matched by its bytes and handed out again instead of being checked and copied into a new String per
/// message. A topic takes the slot of its hash or the other of that pair (two topics of one slot keep both).
struct RecentTopics: Sendable {
    static let slotCount = 256
    private var slots: [String?] = Array(repeating: nil, count: slotCount)

    /// The topic held for `bytes`, when one with exactly these bytes is (it was checked when it came first).
    func topic(for bytes: UnsafeBufferPointer<UInt8>) -> String? {
        let slot = Self.slot(of: bytes)
        func holds(_ topic: String?) -> Bool {
            topic?.utf8.withContiguousStorageIfAvailable { held in
                guard held.count == bytes.count, let left = held.baseAddress, let right = bytes.baseAddress else {
                    return held.count == bytes.count
                }
                return memcmp(left, right, held.count) == 0
            } == true
        }
        return holds(slots[slot]) ? slots[slot] : holds(slots[slot ^ 1]) ? slots[slot ^ 1] : nil
    }

    /// Keeps `topic`, whose bytes are `bytes`: in a free slot of its pair, else in its own.
    mutating func remember(_ topic: String, bytes: UnsafeBufferPointer<UInt8>) {
        let slot = Self.slot(of: bytes)
        slots[slots[slot] == nil ? slot : slots[slot ^ 1] == nil ? slot ^ 1 : slot] = topic
    }

    /// The slot of a topic: from its length and its last eight bytes (where the device names differ).
    private static func slot(of bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var last: UInt64 = 0
        if bytes.count >= 8, let base = bytes.baseAddress {
            last = UnsafeRawPointer(base + bytes.count - 8).loadUnaligned(as: UInt64.self)
        } else {
            for byte in bytes { last = last << 8 | UInt64(byte) }
        }
        let hash = (last ^ UInt64(bytes.count)) &* 0x9E37_79B9_7F4A_7C15
        return Int(truncatingIfNeeded: hash >> 56)   // the top 8 bits: 256 slots
    }
}
