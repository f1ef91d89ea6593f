import FoundationEssentials
import Dispatch
import Glibc
import HTTP
import ThingLogCore

/// The transport of `receive`: a listening socket and its connections in one `poll` loop, non-blocking throughout.
/// It parses requests (`HTTPRequestParser`) and hands them out with a `Ticket`; responses may come back later and in
/// any order (after a commit) and are written in request order per connection (pipelining). Bounded: at most
/// `maximumConnections` (more wait in the listen queue), a request must arrive whole within `requestTimeout`, an idle
/// keep-alive connection closes after `idleTimeout`, and a connection with `maximumOutstanding` unanswered requests
/// is not read until they are answered.
final class HTTPServer {
    /// Identifies one request: its connection and its place in the connection's order.
    struct Ticket: Hashable, Sendable {
        let connection: Int
        let sequence: Int
    }

    struct Limits {
        var maximumConnections = 256
        var requestTimeoutMilliseconds: Int64 = 10_000
        var idleTimeoutMilliseconds: Int64 = 75_000
        var maximumHeaderBytes = 16 * 1024
        var maximumBodyBytes = 1024 * 1024
        var maximumOutstanding = 32
    }

    private final class Connection {
        let descriptor: Int32
        var parser: HTTPRequestParser
        var nextSequence = 0
        var nextToSend = 0
        var ready: [Int: (bytes: [UInt8], close: Bool)] = [:]
        var outbox: [UInt8] = []
        var outboxOffset = 0
        /// When the current request's first byte arrived (or the connection opened, or its last response went out).
        var since: Int64
        /// No more requests are read (a parse error, `Connection: close`, or the peer closed its side).
        var isReadClosed = false
        /// Close once the outbox is written.
        var closeAfterWrite = false
        /// The peer closed its sending side: answers still owed are written, then the connection closes.
        var peerClosed = false
        /// Our side is shut down after a final answer; what the peer still sends is read and dropped until it
        /// closes (or a short while passes), so that the answer is not lost to a reset.
        var lingeringSince: Int64?
        /// When bytes last left the outbox.
        var lastWriteAt: Int64

        init(descriptor: Int32, parser: HTTPRequestParser, now: Int64) {
            self.descriptor = descriptor
            self.parser = parser
            since = now
            lastWriteAt = now
        }

        var pendingBytes: Int { outbox.count - outboxOffset }

        var outstanding: Int { nextSequence - nextToSend }
    }

    let limits: Limits
    private let listener: Int32
    /// The bound port (the one asked for, or the kernel's choice for port 0).
    let port: Int
    private var connections: [Int: Connection] = [:]
    private var nextConnection = 1
    private(set) var isAccepting = true
    /// Stopping: no new requests are read from open connections either.
    private var isDraining = false
    /// A connection whose unread answers exceed this is not read until the client takes them.
    static let maximumPendingBytes = 1 << 20
    /// How long a lingering close waits for the peer.
    static let lingerMilliseconds: Int64 = 2_000
    private var readBuffer = [UInt8](repeating: 0, count: 64 * 1024)

    init(host: String, port: Int, limits: Limits) throws {
        self.limits = limits
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        var info: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &info)
        guard status == 0, let first = info else {
            throw RuntimeError("receive: cannot resolve \(host): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(info) }
        let descriptor = socket(first.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue),
                                0)
        guard descriptor >= 0 else { throw Self.error("socket") }
        var yes: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        guard bind(descriptor, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0 else {
            let failure = Self.error("cannot listen on \(host):\(port)")
            close(descriptor)
            throw failure
        }
        guard listen(descriptor, 511) == 0 else {
            close(descriptor)
            throw Self.error("listen")
        }
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
        var address = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(descriptor, $0, &length) }
        }
        let bound = address.ss_family == sa_family_t(AF_INET6)
            ? withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) {
                Int(UInt16(bigEndian: $0.pointee.sin6_port)) } }
            : withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                Int(UInt16(bigEndian: $0.pointee.sin_port)) } }
        listener = descriptor
        self.port = bound
    }

    deinit {
        for connection in connections.values { close(connection.descriptor) }
        close(listener)
    }

    private static func error(_ what: String) -> RuntimeError {
        RuntimeError("receive: \(what): \(String(cString: strerror(errno)))")
    }

    /// Open connections.
    var connectionCount: Int { connections.count }

    /// Requests handed out and not answered yet.
    var outstandingRequests: Int { connections.values.reduce(0) { $0 + $1.outstanding } }

    /// Whether any response is still being written.
    var isWriting: Bool { connections.values.contains { $0.outboxOffset < $0.outbox.count } }

    /// Stops accepting new connections (they stay in the kernel's queue until the socket closes).
    func stopAccepting() {
        isAccepting = false
        isDraining = true
    }

    /// Waits up to `timeout` ms for sockets or one of `wake`, then accepts, reads, writes and enforces timeouts.
    /// Returns the complete requests read, in arrival order per connection; a request that cannot be parsed is
    /// answered here (400, 411, 413, 431, 501) and its connection closed after the answer.
    func poll(timeout: Int64, wake: [Int32]) -> [(Ticket, HTTPRequest)] {
        var descriptors: [pollfd] = wake.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        let acceptIndex = descriptors.count
        let accepting = isAccepting && connections.count < limits.maximumConnections
        descriptors.append(pollfd(fd: accepting ? listener : -1, events: Int16(POLLIN), revents: 0))
        let order = Array(connections.keys)
        for id in order {
            guard let connection = connections[id] else { continue }
            var events: Int16 = 0
            let mayRead = !connection.isReadClosed && !isDraining && connection.outstanding < limits.maximumOutstanding
                && connection.pendingBytes < Self.maximumPendingBytes
            if mayRead || connection.lingeringSince != nil { events |= Int16(POLLIN) }
            if connection.outboxOffset < connection.outbox.count { events |= Int16(POLLOUT) }
            // A half-closed connection waiting for its answers would report POLLHUP at every poll: left out until
            // there is something to write.
            let watched = connection.peerClosed && events == 0 ? -1 : connection.descriptor
            descriptors.append(pollfd(fd: watched, events: events, revents: 0))
        }
        _ = Glibc.poll(&descriptors, nfds_t(descriptors.count), Int32(clamping: max(0, timeout)))
        let time = MonotonicClock.now()
        var requests: [(Ticket, HTTPRequest)] = []
        if descriptors[acceptIndex].revents != 0 { acceptAll(now: time) }
        for (offset, id) in order.enumerated() {
            let revents = descriptors[acceptIndex + 1 + offset].revents
            guard let connection = connections[id] else { continue }
            if revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 {
                if connection.lingeringSince != nil {
                    drain(connection, id: id)
                } else if !connection.isReadClosed {
                    requests += read(connection, id: id, now: time)
                }
            }
            if revents & Int16(POLLOUT) != 0 || connection.outboxOffset < connection.outbox.count { flush(id) }
        }
        expire(now: time)
        return requests
    }

    private func acceptAll(now: Int64) {
        while connections.count < limits.maximumConnections {
            let descriptor = accept(listener, nil, nil)
            guard descriptor >= 0 else { return }
            _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
            _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
            var yes: Int32 = 1
            setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &yes, socklen_t(MemoryLayout<Int32>.size))
            let parser = HTTPRequestParser(maximumHeaderBytes: limits.maximumHeaderBytes,
                                           maximumBodyBytes: limits.maximumBodyBytes)
            connections[nextConnection] = Connection(descriptor: descriptor, parser: parser, now: now)
            nextConnection += 1
        }
    }

    private func read(_ connection: Connection, id: Int, now: Int64) -> [(Ticket, HTTPRequest)] {
        let count = readBuffer.withUnsafeMutableBytes { Glibc.read(connection.descriptor, $0.baseAddress, $0.count) }
        if count < 0 && errno != EAGAIN && errno != EINTR {
            remove(id)
            return []
        }
        if count == 0 {
            // The peer closed its sending side (a half-close): answers still owed go out, then the connection closes.
            connection.isReadClosed = true
            connection.peerClosed = true
            if connection.outstanding == 0 && connection.pendingBytes == 0 { remove(id) }
            return []
        }
        guard count > 0 else { return [] }
        if !connection.parser.isInsideRequest { connection.since = now }
        connection.parser.append(readBuffer[0..<count])
        var requests: [(Ticket, HTTPRequest)] = []
        while !connection.isReadClosed {
            do {
                guard let request = try connection.parser.next() else { break }
                let ticket = Ticket(connection: id, sequence: connection.nextSequence)
                connection.nextSequence += 1
                if !request.keepAlive { connection.isReadClosed = true }
                requests.append((ticket, request))
                connection.since = now
            } catch {
                let ticket = Ticket(connection: id, sequence: connection.nextSequence)
                connection.nextSequence += 1
                connection.isReadClosed = true
                respond(ticket, .text(error.status, "\(Self.describe(error))\n"), keepAlive: false)
            }
        }
        return requests
    }

    static func describe(_ error: HTTPRequestError) -> String {
        switch error {
        case .badRequest(let why): "bad request: \(why)"
        case .lengthRequired: "a body needs Content-Length or chunked encoding"
        case .bodyTooLarge: "body too large"
        case .headersTooLarge: "request line and header fields too large"
        case .unsupportedTransferEncoding: "only the chunked transfer coding is supported"
        }
    }

    /// Queues the answer to a request; answers go out in request order. With `keepAlive` false the connection
    /// closes after this answer.
    func respond(_ ticket: Ticket, _ response: HTTPResponse, keepAlive: Bool) {
        guard let connection = connections[ticket.connection] else { return }
        connection.ready[ticket.sequence] = (response.encoded(keepAlive: keepAlive), !keepAlive)
        while let next = connection.ready.removeValue(forKey: connection.nextToSend) {
            connection.outbox += next.bytes
            connection.nextToSend += 1
            connection.since = connection.parser.isInsideRequest ? connection.since : MonotonicClock.now()
            if next.close {
                connection.closeAfterWrite = true
                connection.isReadClosed = true
                break
            }
        }
        flush(ticket.connection)
    }

    private func flush(_ id: Int) {
        guard let connection = connections[id] else { return }
        while connection.outboxOffset < connection.outbox.count {
            let written = connection.outbox.withUnsafeBytes { bytes in
                send(connection.descriptor, bytes.baseAddress.map { $0 + connection.outboxOffset },
                     bytes.count - connection.outboxOffset, Int32(MSG_NOSIGNAL))
            }
            if written < 0 {
                if errno == EAGAIN || errno == EINTR { return }
                remove(id)
                return
            }
            connection.outboxOffset += written
            connection.lastWriteAt = MonotonicClock.now()
        }
        connection.outbox.removeAll(keepingCapacity: true)
        connection.outboxOffset = 0
        if connection.closeAfterWrite {
            // A final answer (an error, `Connection: close`): shut our side and linger, so that request bytes still
            // arriving do not make the kernel reset the connection before the client has read the answer.
            shutdown(connection.descriptor, Int32(SHUT_WR))
            connection.closeAfterWrite = false
            connection.lingeringSince = MonotonicClock.now()
        } else if connection.peerClosed && connection.outstanding == 0 {
            remove(id)
        }
    }

    /// Reads and drops what a lingering connection still sends; closes it at the peer's end of stream.
    private func drain(_ connection: Connection, id: Int) {
        let count = readBuffer.withUnsafeMutableBytes { Glibc.read(connection.descriptor, $0.baseAddress, $0.count) }
        if count == 0 || (count < 0 && errno != EAGAIN && errno != EINTR) { remove(id) }
    }

    /// Cuts off slow requests, idle keep-alive connections, clients that do not read their answers, and lingering
    /// connections past the linger time.
    private func expire(now: Int64) {
        for (id, connection) in connections {
            if let lingering = connection.lingeringSince {
                if now - lingering > Self.lingerMilliseconds { remove(id) }
                continue
            }
            // Slow: we are waiting on the client alone (reading, nothing owed) and its request is not complete.
            let isSlow = connection.parser.isInsideRequest && !connection.isReadClosed && connection.outstanding == 0
                && now - connection.since > limits.requestTimeoutMilliseconds
            let isIdle = !connection.parser.isInsideRequest && connection.outstanding == 0
                && connection.pendingBytes == 0 && now - connection.since > limits.idleTimeoutMilliseconds
            let isNotReading = connection.pendingBytes > 0
                && now - connection.lastWriteAt > limits.requestTimeoutMilliseconds
            if isSlow || isIdle || isNotReading { remove(id) }
        }
    }

    private func remove(_ id: Int) {
        guard let connection = connections.removeValue(forKey: id) else { return }
        close(connection.descriptor)
    }

    /// Closes every connection and the listening socket's queue.
    func closeAll() {
        for id in Array(connections.keys) { remove(id) }
    }
}
