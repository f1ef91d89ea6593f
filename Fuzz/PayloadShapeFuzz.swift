// fuzz target `payload-shape`: PayloadShape over arbitrary bytes (issue 13's compact raw archive).
// Input: 8 bytes of receive time (little-endian), then a payload. Oracles: a payload has a shape unless it holds a
// placeholder byte, and gets exactly its bytes back from it (the store relies on that: it does not check each
// report's round trip again); a variant of the payload (its digits changed) split along the payload's shape gives
// exactly the variant's split, and nothing when the variant has another shape; the same bytes read as a damaged row
// (a shape and numbers cut anywhere) decode to bytes or nil, never a trap.
@testable import ThingLogCore
@testable import ThingLogStore
@testable import ThingLogIngest

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafeRawPointer, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data.assumingMemoryBound(to: UInt8.self), count: size))
    guard bytes.count >= 8 else { return 0 }
    let receivedAt = bytes[0..<8].reversed().reduce(Int64(0)) { $0 << 8 | Int64($1) }
    let payload = Array(bytes[8...])
    let hasPlaceholderByte = payload.contains { $0 <= PayloadShape.maximumPlaceholder }
    if let shape = PayloadShape(payload: payload, receivedAt: receivedAt) {
        fuzzCheck(!hasPlaceholderByte, "a payload with a placeholder byte got a shape")
        fuzzCheck(shape.payload(receivedAt: receivedAt) == payload, "the shape does not give the payload back")
    } else {
        fuzzCheck(hasPlaceholderByte, "a payload without a placeholder byte got no shape")
    }
    if let shape = PayloadShape(payload: payload, receivedAt: receivedAt)?.shape {
        let shift = payload.first.map { $0 % 10 } ?? 0
        var variant = payload.map { (0x30...0x39).contains($0) ? 0x30 + ($0 - 0x30 + shift) % 10 : $0 }
        if let digit = variant.firstIndex(where: { (0x30...0x39).contains($0) }), shift % 2 == 1 {
            variant.insert(0x37, at: digit)
        }
        let numbers = PayloadShape.numbers(of: variant, shapedLike: shape, receivedAt: receivedAt)?.numbers
        let split = PayloadShape(payload: variant, receivedAt: receivedAt)
        if let numbers {
            fuzzCheck(split == PayloadShape(shape: shape, numbers: numbers), "the split along the shape differs")
        } else {
            fuzzCheck(split?.shape != shape || shape.filter { $0 <= PayloadShape.maximumPlaceholder }.count > 64,
                      "a variant of the shape was not split along it")
        }
    }
    let cut = payload.isEmpty ? 0 : Int(payload[0]) % (payload.count + 1)
    let damaged = PayloadShape(shape: Array(payload[..<cut]), numbers: Array(payload[cut...]))
    if let decoded = damaged.payload(receivedAt: receivedAt) {
        fuzzCheck(decoded.count <= damaged.shape.count * 40, "\(damaged.shape.count) shape bytes gave \(decoded.count)")
    }
    return 0
}
