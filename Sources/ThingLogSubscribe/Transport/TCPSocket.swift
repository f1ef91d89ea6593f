import Glibc
import MQTT

/// A failed socket call, with the operation and `errno`'s text.
public struct SocketError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }

    static func fromErrno(_ operation: String) -> SocketError {
        SocketError("\(operation): \(String(cString: strerror(errno)))")
    }

    public var description: String { message }
}

/// A non-blocking TCP connection: the only code in thinglog that touches sockets. Every call retries on `EINTR`;
/// writes use `MSG_NOSIGNAL`, so a closed peer is an error, not a SIGPIPE.
public final class TCPSocket {
    public let fileDescriptor: Int32
    private var isClosed = false

    /// Resolves `host` and connects within `timeoutMilliseconds`, trying each address in turn.
    public init(host: String, port: Int, timeoutMilliseconds: Int32) throws(SocketError) {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            throw SocketError("cannot resolve \(host): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(list) }
        var lastError = SocketError("no address for \(host)")
        var candidate: UnsafeMutablePointer<addrinfo>? = first
        while let address = candidate {
            candidate = address.pointee.ai_next
            let fd = socket(address.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue)
                            | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { lastError = .fromErrno("socket"); continue }
            do {
                try Self.connect(fd, address.pointee.ai_addr, address.pointee.ai_addrlen, timeoutMilliseconds,
                                 description: "\(host):\(port)")
                var one: Int32 = 1
                setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                fileDescriptor = fd
                return
            } catch {
                lastError = error
                Glibc.close(fd)
            }
        }
        throw lastError
    }

    private static func connect(_ fd: Int32, _ address: UnsafeMutablePointer<sockaddr>?, _ length: socklen_t,
                                _ timeout: Int32, description: String) throws(SocketError) {
        if Glibc.connect(fd, address, length) == 0 { return }
        guard errno == EINPROGRESS || errno == EINTR else { throw .fromErrno("connect to \(description)") }
        var descriptor = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        let ready = retryingOnInterrupt { poll(&descriptor, 1, timeout) }
        guard ready > 0 else {
            throw ready == 0 ? SocketError("connect to \(description): timed out") : .fromErrno("poll")
        }
        var failure: Int32 = 0
        var size = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &failure, &size)
        guard failure == 0 else {
            throw SocketError("connect to \(description): \(String(cString: strerror(failure)))")
        }
    }

    deinit { close() }

    public func close() {
        guard !isClosed else { return }
        isClosed = true
        Glibc.close(fileDescriptor)
    }

    /// Reads what is available into `buffer`: the count read, 0 when nothing is ready. Throws when the peer
    /// closed the connection or on a socket error.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(SocketError) -> Int {
        let count = retryingOnInterrupt { recv(fileDescriptor, buffer.baseAddress, buffer.count, 0) }
        if count > 0 { return count }
        if count == 0 { throw SocketError("the broker closed the connection") }
        if errno == EAGAIN || errno == EWOULDBLOCK { return 0 }
        throw .fromErrno("recv")
    }

    /// Writes as much of `bytes` as the socket takes now; returns the count written.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(SocketError) -> Int {
        guard !bytes.isEmpty else { return 0 }
        let count = retryingOnInterrupt { send(fileDescriptor, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL)) }
        if count >= 0 { return count }
        if errno == EAGAIN || errno == EWOULDBLOCK { return 0 }
        throw .fromErrno("send")
    }
}

/// Repeats a system call while it fails with `EINTR`.
@inline(__always)
func retryingOnInterrupt<T: BinaryInteger>(_ call: () -> T) -> T {
    while true {
        let result = call()
        if result >= 0 || errno != EINTR { return result }
    }
}
