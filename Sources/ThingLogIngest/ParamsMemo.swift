import Glibc
import ThingLogCore

/// The `params` keys of the last few layouts the report fast path read, with what was decided about each key: its
/// name, whether the name rules accept it, and the template's bounds for it. A device repeats one layout, so a report
/// whose keys have the same bytes, in the same order, reuses all of it instead of making names, checking rules and
/// looking the template up again for every reading.
///
/// Shared by the copies of one parser (a parser whose template or rules change gets a new memo): a thread that finds
/// it in use by another simply reads its report without it.
final class ParamsMemo: @unchecked Sendable {
    /// One layout: its keys' bytes one after another, and what was decided about each key.
    struct Layout {
        var keyBytes: [UInt8]
        var keyLengths: [Int]
        var names: [String]
        var isValidName: [Bool]
        var bounds: [DataTemplate.Bounds?]
        /// Names this layout in the messages read with it.
        let token = MetricsIdentity.Token()
    }

    /// Layouts kept (a fleet of a few firmware versions, interleaved).
    static let capacity = 4

    private let lock = Lock()
    private var layouts: [Layout] = []
    private var nextReplaced = 0

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
