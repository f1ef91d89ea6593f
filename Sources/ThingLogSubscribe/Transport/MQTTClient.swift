import ThingLogCore
import Glibc
import MQTT
import ThingLogStore

/// One MQTT connection driven by `poll`: socket bytes go through the decoder into the `ClientSession`, and the
/// session's sends come back out through a write buffer. The application sees only what matters to it. While not
/// connected, `poll` connects when `reconnect` says it is due, so `subscribe` and `simulate` share this one driver
/// and keep only their own decisions.
public final class MQTTClient {
    /// What the application is told after a poll.
    public enum Event: Equatable, Sendable {
        /// A new connection was opened (CONNECT sent): whatever belonged to an earlier one must not go out on it.
        case opened
        case delivered(PublishPacket)
        case deliveredOversized(OversizedPublish)
        case ready(sessionPresent: Bool)
        /// The broker granted a filter a lower QoS than asked.
        case downgraded(filter: String, granted: QoS)
        case published(packetID: UInt16)
        /// The connection is gone (closed here or by the broker); reconnect later.
        case disconnected(reason: String)
        /// The broker refused us for a reason reconnecting will not fix.
        case failed(ClientSession.Failure)
        /// A connection attempt failed; the next comes after the wait.
        case connectFailed(reason: String, retryInMilliseconds: Int64)
    }

    public let host: String
    public let port: Int
    public private(set) var session: ClientSession
    /// When `poll` connects again.
    public private(set) var reconnect: ReconnectPolicy
    /// Events of actions carried out between polls (`connect`, `publish`, …), for the next `poll`.
    private var pendingEvents: [Event] = []
    private var socket: TCPSocket?
    private var decoder: PacketDecoder
    private var outbound: [UInt8] = []
    private var readBuffer: UnsafeMutableRawBufferPointer

    public init(host: String, port: Int, options: ClientSession.Options, maximumPacketSize: Int = 1 << 20,
                reconnect: ReconnectPolicy = ReconnectPolicy()) {
        self.host = host
        self.port = port
        self.reconnect = reconnect
        session = ClientSession(options: options)
        decoder = PacketDecoder(maximumPacketSize: maximumPacketSize)
        readBuffer = .allocate(byteCount: 256 * 1024, alignment: 8)
    }

    deinit {
        socket?.close()
        readBuffer.deallocate()
    }

    public var isConnected: Bool { socket != nil }

    /// Opens the TCP connection and queues CONNECT (sent by the next `flush` or `poll`); the next `poll` reports
    /// `.opened`. `poll` connects by itself when not connected; calling this first lets the broker start on the
    /// session while the caller gets ready.
    public func connect(timeoutMilliseconds: Int32 = 10_000) throws(SocketError) {
        close()
        socket = try TCPSocket(host: host, port: port, timeoutMilliseconds: timeoutMilliseconds)
        decoder = PacketDecoder(maximumPacketSize: decoder.maximumPacketSize)
        outbound.removeAll()
        pendingEvents.append(.opened)
        apply(session.connectionOpened(now: MonotonicClock.now()))
    }

    /// Closes the connection without DISCONNECT (the broker keeps or drops the session as it would after a loss).
    public func close() {
        socket?.close()
        socket = nil
        session.connectionClosed()
        outbound.removeAll()
    }

    /// A clean goodbye: DISCONNECT, flushed as far as the socket takes it, then close.
    public func disconnect() {
        guard socket != nil else { return }
        apply([session.disconnect(now: MonotonicClock.now())])
        try? flush()
        close()
    }

    /// Queues a PUBACK for each packet id, in order (written by the next `flush` or `poll`).
    public func acknowledge(packetIDs: [UInt16]) {
        let now = MonotonicClock.now()
        for packetID in packetIDs { handle(session.acknowledge(packetID: packetID, now: now), into: &pendingEvents) }
    }

    public func publish(topic: String, payload: [UInt8], qos: QoS) {
        apply([session.publish(topic: topic, payload: payload, qos: qos, now: MonotonicClock.now())])
    }

    /// Bytes waiting to be written.
    public var pendingOutputCount: Int { outbound.count }

    /// Waits up to `timeoutMilliseconds` (less when keep-alive needs attention) for the socket or a `wakeDescriptors`,
    /// reads and decodes everything available, writes what is pending, and returns the events.
    /// `drained` tells whether the socket had no more bytes to read when the call returned.
    public func poll(timeoutMilliseconds: Int32, wakeDescriptors: [Int32] = []) -> (events: [Event], drained: Bool) {
        var events = pendingEvents
        pendingEvents.removeAll()
        if socket == nil {
            let now = MonotonicClock.now()
            guard reconnect.isDue(now: now) else {
                var wakes = wakeDescriptors.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
                let wait = min(Int64(timeoutMilliseconds), reconnect.nextAttemptAt - now)
                _ = retryingOnInterrupt { Glibc.poll(&wakes, nfds_t(wakes.count), Int32(clamping: wait)) }
                return (events, true)
            }
            do {
                try connect()
            } catch {
                let wait = reconnect.failed(now: now, draw: Int64.random(in:))
                return (events + [.connectFailed(reason: "\(error)", retryInMilliseconds: wait)], true)
            }
            events += pendingEvents   // `.opened` first
            pendingEvents.removeAll()
        }
        guard let socket else { return (events, true) }
        var timeout = timeoutMilliseconds
        if let deadline = session.nextDeadline() {
            timeout = Int32(clamping: max(0, min(Int64(timeout), deadline - MonotonicClock.now())))
        }
        var descriptors = [pollfd(fd: socket.fileDescriptor,
                                  events: Int16(POLLIN) | (outbound.isEmpty ? 0 : Int16(POLLOUT)), revents: 0)]
        for wake in wakeDescriptors { descriptors.append(pollfd(fd: wake, events: Int16(POLLIN), revents: 0)) }
        _ = retryingOnInterrupt { Glibc.poll(&descriptors, nfds_t(descriptors.count), timeout) }
        var drained = true
        do {
            if descriptors[0].revents & Int16(POLLIN | POLLERR | POLLHUP) != 0 {
                drained = try readAvailable(into: &events)
            }
            try flush()
        } catch {
            return (events + disconnect(reason: "\(error)"), true)
        }
        for action in session.tick(now: MonotonicClock.now()) { handle(action, into: &events) }
        if let last = events.last, case .disconnected = last { return (events, true) }
        do { try flush() } catch { return (events + disconnect(reason: "\(error)"), true) }
        return (events, drained)
    }

    /// Reads until the socket has nothing more (or a read buffer's worth was taken); true when drained.
    private func readAvailable(into events: inout [Event]) throws -> Bool {
        guard let socket else { return true }
        let count = try socket.read(into: readBuffer)
        guard count > 0 else { return true }
        decoder.append(UnsafeRawBufferPointer(rebasing: readBuffer[0..<count]))
        let now = MonotonicClock.now()
        while let packet = try decoder.next() {
            for action in session.received(packet, now: now) { handle(action, into: &events) }
            if self.socket == nil { return true }
        }
        return count < readBuffer.count
    }

    private func handle(_ action: ClientSession.Action, into events: inout [Event]) {
        switch action {
        case .send(let packet): PacketEncoder.encode(packet, into: &outbound)
        case .deliver(let publish): events.append(.delivered(publish))
        case .deliverOversized(let publish): events.append(.deliveredOversized(publish))
        case .ready(let sessionPresent):
            reconnect.ready()
            events.append(.ready(sessionPresent: sessionPresent))
        case .downgraded(let filter, let granted): events.append(.downgraded(filter: filter, granted: granted))
        case .published(let packetID): events.append(.published(packetID: packetID))
        case .close(let reason): events += disconnect(reason: reason)
        case .fail(let failure):
            close()
            events.append(.failed(failure))
        }
    }

    /// Carries out actions outside `poll`; their events (if any) are returned by the next `poll`.
    private func apply(_ actions: [ClientSession.Action]) {
        for action in actions { handle(action, into: &pendingEvents) }
    }

    private func disconnect(reason: String) -> [Event] {
        close()
        reconnect.lost(now: MonotonicClock.now(), draw: Int64.random(in:))
        return [.disconnected(reason: reason)]
    }

    /// Writes pending bytes until the socket would block.
    public func flush() throws(SocketError) {
        guard let socket, !outbound.isEmpty else { return }
        let result: Result<Int, SocketError> = outbound.withUnsafeBytes { bytes in
            Result { () throws(SocketError) in try socket.write(bytes) }
        }
        let written = try result.get()
        if written == outbound.count {
            outbound.removeAll(keepingCapacity: true)
        } else if written > 0 {
            outbound.removeFirst(written)
        }
    }
}
