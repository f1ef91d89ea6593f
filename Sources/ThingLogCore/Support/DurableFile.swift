import Glibc

/// File operations for outputs that must appear whole, survive a power loss once reported written, and never follow
/// a link planted where a temporary file will be (SPEC §4: output files are written atomically).
package enum DurableFile {
    /// Creates a new file beside `target` that did not exist before (`O_CREAT|O_EXCL|O_NOFOLLOW`), under a fresh
    /// hidden name; returns its path and an open descriptor.
    package static func createTemporary(beside target: String) throws -> (path: String, descriptor: Int32) {
        let slash = target.lastIndex(of: "/")
        let directory = slash.map { String(target[...$0]) } ?? ""
        let name = slash.map { String(target[target.index(after: $0)...]) } ?? target
        for _ in 0..<16 {
            let path = directory + ".\(name).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
            if descriptor >= 0 { return (path, descriptor) }
            guard errno == EEXIST else {
                throw RuntimeError("cannot create \(path): \(String(cString: strerror(errno)))")
            }
        }
        throw RuntimeError("cannot create a temporary file beside \(target)")
    }

    /// Writes every byte, retrying short writes and interruptions.
    package static func write(_ bytes: [UInt8], to descriptor: Int32, path: String) throws {
        try bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(descriptor, buffer.baseAddress.map { $0 + offset }, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw RuntimeError("cannot write \(path): \(String(cString: strerror(errno)))")
                }
                offset += written
            }
        }
    }

    /// Flushes the file to the disk and closes it.
    package static func syncAndClose(_ descriptor: Int32, path: String) throws {
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else {
            throw RuntimeError("cannot write \(path) to disk: \(String(cString: strerror(errno)))")
        }
    }

    /// Writes a whole new file that must not exist yet, synced to the disk.
    package static func create(_ path: String, bytes: [UInt8]) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw RuntimeError("cannot create \(path): \(String(cString: strerror(errno)))") }
        do {
            try write(bytes, to: descriptor, path: path)
        } catch {
            close(descriptor)
            throw error
        }
        try syncAndClose(descriptor, path: path)
    }

    /// Syncs a directory, so that a rename in it survives a power loss.
    /// Flushes an existing file's contents to the disk.
    package static func syncFile(_ path: String) throws {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw RuntimeError("cannot open \(path): \(String(cString: strerror(errno)))") }
        try syncAndClose(descriptor, path: path)
    }

    package static func syncDirectory(containing path: String) {
        let directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        let descriptor = open(directory.isEmpty ? "/" : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        _ = fsync(descriptor)
        close(descriptor)
    }

    private typealias RenameAt2 = @convention(c) (Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>,
                                                  UInt32) -> Int32

    /// Swaps two paths in one step (Linux `renameat2(RENAME_EXCHANGE)`): neither name is ever missing. False when
    /// the system or the file system cannot (the caller then falls back to two renames).
    package static func exchange(_ first: String, _ second: String) -> Bool {
        // glibc declares renameat2 only with _GNU_SOURCE, which Swift's Glibc module does not set: look it up.
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "renameat2") else { return false }
        let renameat2 = unsafeBitCast(symbol, to: RenameAt2.self)
        let renameExchange: UInt32 = 1 << 1
        return renameat2(AT_FDCWD, first, AT_FDCWD, second, renameExchange) == 0
    }
}
