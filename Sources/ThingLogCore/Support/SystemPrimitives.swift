import Glibc

/// A mutual-exclusion lock over `pthread_mutex_t` (thinglog imports only FoundationEssentials, which has none).
public final class Lock: @unchecked Sendable {
    fileprivate let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)

    public init() { pthread_mutex_init(mutex, nil) }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    public func lock() { pthread_mutex_lock(mutex) }
    public func unlock() { pthread_mutex_unlock(mutex) }
    /// Takes the lock only if it is free; whether it did.
    public func tryLock() -> Bool { pthread_mutex_trylock(mutex) == 0 }

    /// Runs `body` holding the lock.
    public func withLock<T>(_ body: () throws -> T) rethrows -> T {
        lock()
        defer { unlock() }
        return try body()
    }
}

/// A value shared between threads, read and written under a lock of its own.
public final class Locked<Value>: @unchecked Sendable {
    private let guardLock = Lock()
    private var stored: Value

    public init(_ value: Value) { stored = value }

    public var value: Value {
        get { guardLock.withLock { stored } }
        set { guardLock.withLock { stored = newValue } }
    }

    /// Reads and changes the value in one step under the lock (an increment that no other thread can interleave).
    public func update<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        try guardLock.withLock { try body(&stored) }
    }
}

/// A lock with a condition variable, for threads that wait until another changes shared state.
public final class Condition: @unchecked Sendable {
    private let guardLock = Lock()
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    public init() { pthread_cond_init(condition, nil) }

    deinit {
        pthread_cond_destroy(condition)
        condition.deallocate()
    }

    public func lock() { guardLock.lock() }
    public func unlock() { guardLock.unlock() }
    /// Waits (the lock held) until signalled.
    public func wait() { pthread_cond_wait(condition, guardLock.mutex) }
    public func broadcast() { pthread_cond_broadcast(condition) }
}

/// Starts `body` on a new detached thread.
public func startThread(_ body: @escaping @Sendable () -> Void) {
    final class Box {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
    let context = Unmanaged.passRetained(Box(body)).toOpaque()
    var thread = pthread_t()
    let result = pthread_create(&thread, nil, { context in
        let box = Unmanaged<AnyObject>.fromOpaque(context!).takeRetainedValue() as! Box
        box.body()
        return nil
    }, context)
    precondition(result == 0, "cannot start a thread (pthread_create: \(result))")
    pthread_detach(thread)
}

/// File paths as text (what `NSString`'s path methods did).
public enum Path {
    /// `base/component` with one slash between; `component` as is when `base` is empty.
    public static func join(_ base: String, _ component: String) -> String {
        guard !base.isEmpty else { return component }
        var head = Substring(base)
        while head.count > 1, head.hasSuffix("/") { head = head.dropLast() }
        var tail = Substring(component)
        while tail.hasPrefix("/") { tail = tail.dropFirst() }
        return head == "/" ? "/" + tail : head + "/" + tail
    }

    /// The directory part: `a/b` for `a/b/c`, `/` for `/c`, empty for `c`.
    public static func parent(_ path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return "" }
        return slash == trimmed.startIndex ? "/" : String(trimmed[..<slash])
    }

    /// Whether `path` names a directory (following symbolic links).
    public static func isDirectory(_ path: String) -> Bool {
        var status = stat()
        return stat(path, &status) == 0 && (status.st_mode & S_IFMT) == S_IFDIR
    }

    /// The last component: `c` for `a/b/c` (and `a/b/c/`).
    public static func lastComponent(_ path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/"), trimmed != "/" else { return String(trimmed) }
        return String(trimmed[trimmed.index(after: slash)...])
    }
}

extension StringProtocol {
    /// The text without leading and trailing spaces, tabs, carriage returns and line feeds.
    public var trimmedOfBlanks: String {
        let isBlank: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" }
        guard let first = firstIndex(where: { !isBlank($0) }), let last = lastIndex(where: { !isBlank($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}

extension String {
    /// The text cut or padded with spaces to `length` characters (a table column).
    public func padded(to length: Int) -> String {
        count >= length ? String(prefix(length)) : self + String(repeating: " ", count: length - count)
    }
}

/// C `printf` formatting of one number (`%.3g`, `%.2f`), without Foundation's `String(format:)`.
public func cFormat(_ format: String, _ value: Double) -> String {
    var buffer = [CChar](repeating: 0, count: 64)
    let count = withVaList([value]) { arguments in
        buffer.withUnsafeMutableBufferPointer { vsnprintf($0.baseAddress, $0.count, format, arguments) }
    }
    guard count >= 0 else { return "" }
    if Int(count) >= buffer.count {
        buffer = [CChar](repeating: 0, count: Int(count) + 1)
        _ = withVaList([value]) { arguments in
            buffer.withUnsafeMutableBufferPointer { vsnprintf($0.baseAddress, $0.count, format, arguments) }
        }
    }
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
