import Glibc
import ThingLogCore

/// What the parser decided about inputs that repeat, so that a device's next report does not decide it again:
/// - the `params` keys of the last few layouts the report fast path read, with what was decided about each key: its
///   name, whether the name rules accept it, and the template's bounds for it (a report whose keys have the same
///   bytes, in the same order, reuses all of it instead of making names, checking rules and looking the template up
///   for every reading);
/// - recent topics and their parse (every report of a device comes on one topic), with the plan of the topic's last
///   planned report (its next report is split along that plan's shape first);
/// - recent payload shapes and where their values lie (`ReportPlan`: every report of a device has one shape).
///
/// Shared by the copies of one parser (a parser whose template or rules change gets a new memo): a thread that finds
/// it in use by another simply parses its message without it.
final class ParseMemo: @unchecked Sendable {
    /// One layout: its keys' bytes one after another, and what was decided about each key.
    struct Layout {
        var keyBytes: [UInt8]
        var keyLengths: [Int]
        var names: [String]
        var isValidName: [Bool]
        var bounds: [DataTemplate.Bounds?]
        /// Names this layout in the messages read with it.
        let token = MetricsIdentity.newLayout()
    }

    /// Layouts kept (a fleet of a few firmware versions, interleaved).
    static let capacity = 4

    /// Topics kept, by their length and last eight bytes (see `way`).
    static let topicSlots = 256
    /// Plans kept, by a hash of the shape (see `way`), each for a shape of at most `maximumPlannedShape` bytes.
    static let planSlots = 256
    static let maximumPlannedShape = 4096

    private let lock = Lock()
    private var layouts: [Layout] = []
    private var nextReplaced = 0
    /// Remembered topics, a slot each in four arrays (a lookup copies only what it hands out): the topic, the storage
    /// address of its String (`storageAddress(of:)`; 0: none; the decoder hands out one String per topic, so a lookup
    /// usually finds its topic by address, without copying the slot's String), its parse (nil: not a data-template
    /// topic), and the plan its last planned report was read by.
    private var topics = [String?](repeating: nil, count: topicSlots)
    private var topicAddresses = [UInt](repeating: 0, count: topicSlots)
    private var topicParses = [ThingTopic?](repeating: nil, count: topicSlots)
    private var topicPlans = [ReportPlan?](repeating: nil, count: topicSlots)
    private var plans: [ReportPlan?] = Array(repeating: nil, count: planSlots)

    /// The plan for payloads of exactly this shape, when one is kept.
    func plan(for shape: [UInt8]) -> ReportPlan? {
        guard shape.count <= Self.maximumPlannedShape, lock.tryLock() else { return nil }
        defer { lock.unlock() }
        return shape.withUnsafeBufferPointer { shape in
            let slot = Self.slot(of: shape)
            func matches(_ plan: ReportPlan?) -> Bool {
                guard let plan, plan.shape.count == shape.count else { return false }
                return plan.shape.withUnsafeBufferPointer { kept in
                    guard let left = kept.baseAddress, let right = shape.baseAddress else { return true }
                    return memcmp(left, right, shape.count) == 0
                }
            }
            return matches(plans[slot]) ? plans[slot] : matches(plans[slot ^ 1]) ? plans[slot ^ 1] : nil
        }
    }

    /// Keeps a plan in one of its two slots.
    func remember(_ plan: ReportPlan) {
        guard plan.shape.count <= Self.maximumPlannedShape, lock.tryLock() else { return }
        defer { lock.unlock() }
        plans[Self.way(for: plan.shape.withUnsafeBufferPointer(Self.slot)) { plans[$0] == nil }] = plan
    }

    /// A shape's slot: a multiplicative hash of its bytes, eight at a time.
    private static func slot(of shape: UnsafeBufferPointer<UInt8>) -> Int {
        var hash = UInt64(shape.count)
        var index = 0
        if let base = shape.baseAddress {
            while index + 8 <= shape.count {
                let word = UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)
                hash = (hash ^ word) &* 0x9E37_79B9_7F4A_7C15
                hash ^= hash >> 29
                index += 8
            }
        }
        while index < shape.count {
            hash = (hash ^ UInt64(shape[index])) &* 0x0000_0100_0000_01B3
            index += 1
        }
        return Int(truncatingIfNeeded: (hash &* 0x9E37_79B9_7F4A_7C15) >> 56)   // 256 slots
    }

    /// What is remembered of `topic`: its parse (nil: not a data-template topic) and its last plan.
    func topic(_ topic: String) -> Known? {
        guard lock.tryLock() else { return nil }
        defer { lock.unlock() }
        guard let slot = rememberedSlot(of: topic) else { return nil }
        return Known(parsed: topicParses[slot], plan: topicPlans[slot])
    }

    /// A remembered topic's parse and last plan (not the topic itself: a copy of its String would be a reference
    /// count written per message).
    struct Known {
        let parsed: ThingTopic?
        let plan: ReportPlan?
    }

    /// Remembers the parse of `topic`, in one of its two slots.
    func remember(_ topic: String, parsed: ThingTopic?) {
        guard let slot = Self.slot(of: topic), lock.tryLock() else { return }
        defer { lock.unlock() }
        let way = Self.way(for: slot) { topics[$0] == nil }
        topics[way] = topic
        topicAddresses[way] = storageAddress(of: topic) ?? 0
        topicParses[way] = parsed
        topicPlans[way] = nil
    }

    /// Remembers `plan` as the one the last report on `topic` was read by (when the topic is remembered).
    func remember(_ plan: ReportPlan, forTopic topic: String) {
        guard plan.shape.count <= Self.maximumPlannedShape, lock.tryLock() else { return }
        defer { lock.unlock() }
        if let slot = rememberedSlot(of: topic) { topicPlans[slot] = plan }
    }

    /// The slot that remembers `topic` (the lock held).
    private func rememberedSlot(of topic: String) -> Int? {
        guard let slot = Self.slot(of: topic) else { return nil }
        if let address = storageAddress(of: topic) {
            if topicAddresses[slot] == address { return slot }
            if topicAddresses[slot ^ 1] == address { return slot ^ 1 }
        }
        if let remembered = topics[slot], hasSameBytes(remembered, topic) { return slot }
        if let remembered = topics[slot ^ 1], hasSameBytes(remembered, topic) { return slot ^ 1 }
        return nil
    }

    /// Where to put a new entry whose slot is `slot`: an entry may take its slot or the other of its pair (so two
    /// entries of one slot do not keep replacing each other); a free one of the two, else its own.
    private static func way(for slot: Int, isFree: (Int) -> Bool) -> Int {
        isFree(slot) ? slot : isFree(slot ^ 1) ? slot ^ 1 : slot
    }

    /// A topic's slot, from its length and its last eight bytes (where device names differ); nil for a topic whose
    /// bytes are not in one piece.
    private static func slot(of topic: String) -> Int? {
        topic.utf8.withContiguousStorageIfAvailable { bytes -> Int in
            var last: UInt64 = 0
            if bytes.count >= 8, let base = bytes.baseAddress {
                last = UnsafeRawPointer(base + bytes.count - 8).loadUnaligned(as: UInt64.self)
            } else {
                for byte in bytes { last = last << 8 | UInt64(byte) }
            }
            return Int(truncatingIfNeeded: ((last ^ UInt64(bytes.count)) &* 0x9E37_79B9_7F4A_7C15) >> 56)   // 256 slots
        }
    }

    /// The remembered layout whose keys have exactly the bytes of `keys` (ranges of `bytes`), if any.
    func layout(matching keys: some Collection<Range<Int>>, in bytes: UnsafeBufferPointer<UInt8>) -> Layout? {
        guard lock.tryLock() else { return nil }
        defer { lock.unlock() }
        return layouts.first { Self.layout($0, matches: keys, in: bytes) }
    }

    /// Remembers a layout, replacing the oldest one when full (skipped while another thread holds the memo).
    func remember(_ layout: Layout) {
        guard lock.tryLock() else { return }
        defer { lock.unlock() }
        if layouts.count < Self.capacity {
            layouts.append(layout)
        } else {
            layouts[nextReplaced] = layout
            nextReplaced = (nextReplaced + 1) % Self.capacity
        }
    }

    private static func layout(_ layout: Layout, matches keys: some Collection<Range<Int>>,
                               in bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard layout.keyLengths.count == keys.count, let base = bytes.baseAddress else { return false }
        return layout.keyBytes.withUnsafeBufferPointer { remembered in
            guard let rememberedBase = remembered.baseAddress else { return keys.allSatisfy(\.isEmpty) }
            var offset = 0
            for (index, key) in keys.enumerated() {
                guard key.count == layout.keyLengths[index],
                      memcmp(base + key.lowerBound, rememberedBase + offset, key.count) == 0 else { return false }
                offset += key.count
            }
            return true
        }
    }
}
