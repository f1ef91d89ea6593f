import Glibc

/// An exclusive advisory lock (`flock`) on a small file next to the store, held until `release` or deinit: keeps
/// two `analyze` runs (a nightly report and a manual run) from interleaving. A separate file, because closing any
/// descriptor of the database file itself would drop SQLite's own POSIX locks.
package final class FileLock {
    private var descriptor: Int32

    /// Waits until the lock is free.
    package init(path: String) throws(RuntimeError) {
        descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw RuntimeError("cannot open lock file \(path): \(String(cString: strerror(errno)))")
        }
        while flock(descriptor, LOCK_EX) != 0 {
            guard errno == EINTR else {
                let reason = String(cString: strerror(errno))
                close(descriptor)
                throw RuntimeError("cannot lock \(path): \(reason)")
            }
        }
    }

    package func release() {
        guard descriptor >= 0 else { return }
        close(descriptor)
        descriptor = -1
    }

    deinit { release() }
}
