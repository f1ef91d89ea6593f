import ThingLogCore

/// The body of a data-forwarding POST (SPEC §4 `receive`): one envelope, or a JSON array of envelopes. Each
/// envelope becomes an entry exactly as `ingest --format forward` makes it, received now; a body that is not JSON
/// at all, or an element that is not an envelope, becomes a quarantined entry, never an error.
public enum ForwardedBody {
    /// The most envelopes one request may carry (more are quarantined `too_large` as one reject).
    public static let maximumEnvelopes = 10_000

    public static func entries(_ body: [UInt8], now: Int64, parser: ReportParser) -> [StoreEntry] {
        body.withUnsafeBufferPointer { bytes in
            let first = bytes.first { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }
            guard first == UInt8(ascii: "[") else { return [entry(bytes, now: now, parser: parser)] }
            let spans: [Range<Int>]
            do {
                spans = try JSONParser.parseArrayElementSpans(bytes)
            } catch {
                return [.rejected(Rejection(reason: .notJSON, detail: "the body is not JSON: \(error)",
                                            topic: nil, receivedAt: now, bytes: bytes))]
            }
            guard spans.count <= maximumEnvelopes else {
                return [.rejected(Rejection(reason: .tooLarge, detail: "\(spans.count) envelopes in one request "
                                            + "(at most \(maximumEnvelopes))", topic: nil, receivedAt: now,
                                            bytes: bytes))]
            }
            return spans.map { entry(UnsafeBufferPointer(rebasing: bytes[$0]), now: now, parser: parser) }
        }
    }

    private static func entry(_ envelope: UnsafeBufferPointer<UInt8>, now: Int64, parser: ReportParser) -> StoreEntry {
        switch IngestFormat.decodeForwarded(envelope, now: now) {
        case .blank:
            return .rejected(Rejection(reason: .badRecord, detail: "empty body", topic: nil, receivedAt: now,
                                       bytes: envelope))
        case .rejected(let rejection):
            return .rejected(rejection)
        case .message(let message, let parsedPayload):
            return parser.entry(for: message, parsedPayload: parsedPayload)
        }
    }
}
