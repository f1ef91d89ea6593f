/// The signature of the platform's HTTP data forwarding (protocol.md §6): the lowercase hex SHA-1 of the token,
/// `Timestamp` and `Nonce`, sorted as byte strings and concatenated.
public enum ForwardingSignature {
    /// How far a request's `Timestamp` may be from our clock (SPEC §4 `receive`: 5 minutes).
    public static let window: Int64 = 300

    public static func signature(token: String, timestamp: String, nonce: String) -> String {
        let parts = [token, timestamp, nonce].map { Array($0.utf8) }.sorted { $0.lexicographicallyPrecedes($1) }
        return hexString(SHA1.hash(parts.flatMap { $0 }))
    }

    /// Why a request's signing fields do not verify.
    public enum Failure: Error, Equatable, Sendable, CustomStringConvertible {
        case missing(String)
        case badTimestamp
        case expired
        case mismatch

        public var description: String {
            switch self {
            case .missing(let field): "no \(field)"
            case .badTimestamp: "Timestamp is not a number of seconds"
            case .expired: "Timestamp is more than 5 minutes from now"
            case .mismatch: "Signature does not match"
            }
        }
    }

    /// Checks the fields against `token` at `now` (epoch seconds). The comparison takes the same time wherever the
    /// signatures differ.
    public static func verify(token: String, signature: String?, timestamp: String?, nonce: String?,
                              now: Int64) -> Failure? {
        guard let signature else { return .missing("Signature") }
        guard let timestamp else { return .missing("Timestamp") }
        guard let nonce else { return .missing("Nonce") }
        guard timestamp.utf8.count <= 12, let seconds = Int64(timestamp) else { return .badTimestamp }
        guard abs(seconds - now) <= window else { return .expired }
        let expected = Array(self.signature(token: token, timestamp: timestamp, nonce: nonce).utf8)
        let given = Array(signature.lowercased().utf8)
        guard given.count == expected.count else { return .mismatch }
        var difference: UInt8 = 0
        for index in expected.indices { difference |= expected[index] ^ given[index] }
        return difference == 0 ? nil : .mismatch
    }
}
