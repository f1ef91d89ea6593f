import Glibc

/// The write end of the self-pipe, for the signal handler (which may touch nothing else).
nonisolated(unsafe) private var stopPipeWriteDescriptor: Int32 = -1

/// Turns SIGINT and SIGTERM into a readable pipe, so a `poll` loop wakes at once and stops cleanly.
public enum StopSignal {
    /// Installs the handlers once; returns the descriptor that becomes readable when a stop was requested.
    public static func install() -> Int32 {
        if let existing = readDescriptor { return existing }
        var descriptors: [Int32] = [0, 0]
        guard pipe(&descriptors) == 0 else { return -1 }
        for descriptor in descriptors {
            _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
            _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
        }
        stopPipeWriteDescriptor = descriptors[1]
        readDescriptor = descriptors[0]
        let handler: @convention(c) (Int32) -> Void = { _ in
            var byte: UInt8 = 1
            _ = write(stopPipeWriteDescriptor, &byte, 1)
        }
        signal(SIGINT, handler)
        signal(SIGTERM, handler)
        // A parent may have left the signals blocked (a supervisor, a test runner's thread): unblock them.
        var mask = sigset_t()
        sigemptyset(&mask)
        sigaddset(&mask, SIGINT)
        sigaddset(&mask, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &mask, nil)
        return descriptors[0]
    }

    nonisolated(unsafe) private static var readDescriptor: Int32?

    /// Waits until a stop is requested or `milliseconds` pass.
    public static func wait(_ descriptor: Int32, milliseconds: Int64) {
        var check = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        _ = poll(&check, 1, Int32(clamping: milliseconds))
    }

    /// Whether a stop was requested (consumes nothing: once requested, it stays requested).
    public static func isRequested(_ descriptor: Int32) -> Bool {
        guard descriptor >= 0 else { return false }
        var check = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        return poll(&check, 1, 0) > 0
    }
}
