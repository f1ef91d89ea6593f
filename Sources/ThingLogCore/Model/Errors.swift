/// A usage error: exit status 2 with a one-line message naming the flag (SPEC §3).
public struct UsageError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A runtime failure: a file that cannot be read, a broker that refuses us (exit status 1).
public struct RuntimeError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
