/// A configuration that cannot be used; the message names the file and the key path (SPEC §7). Exit status 2.
public struct ConfigError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
