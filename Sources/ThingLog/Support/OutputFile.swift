import Foundation

/// A text output that appears whole or not at all: written to a temporary file beside the target and renamed on
/// `commit()` (SPEC §4). `-` writes to standard output directly, and so does a target that exists and is not a
/// regular file (`/dev/null`, a FIFO): renaming over those would replace the device, not write to it.
final class OutputFile {
    private let target: String?
    private let temporary: String?
    private let handle: FileHandle?
    private let context: CommandContext
    private var buffer: [UInt8] = []

    init(path: String, context: CommandContext) throws {
        self.context = context
        if path == "-" {
            target = nil
            temporary = nil
            handle = nil
            return
        }
        let resolved = context.resolve(path)
        var status = stat()
        if stat(resolved, &status) == 0, status.st_mode & S_IFMT != S_IFREG {
            guard let handle = FileHandle(forWritingAtPath: resolved) else {
                throw RuntimeError("cannot write \(path)")
            }
            target = nil
            temporary = nil
            self.handle = handle
            return
        }
        let temporaryPath = resolved + ".tmp-\(getpid())"
        guard FileManager.default.createFile(atPath: temporaryPath, contents: nil),
              let handle = FileHandle(forWritingAtPath: temporaryPath) else {
            throw RuntimeError("cannot write \(path)")
        }
        target = resolved
        temporary = temporaryPath
        self.handle = handle
    }

    deinit {
        if let temporary, handle != nil { try? FileManager.default.removeItem(atPath: temporary) }
    }

    func write(_ text: String) throws {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= 1 << 20 { try flush() }
    }

    /// Appends bytes; `bytes` is left empty (its capacity kept) so callers can reuse it as their row buffer.
    func write(bytes: inout [UInt8]) throws {
        buffer.append(contentsOf: bytes)
        bytes.removeAll(keepingCapacity: true)
        if buffer.count >= 1 << 20 { try flush() }
    }

    private func flush() throws {
        guard !buffer.isEmpty else { return }
        if let handle {
            try handle.write(contentsOf: buffer)
        } else {
            context.standardOutput.write(String(decoding: buffer, as: UTF8.self))
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes and renames the temporary file over the target.
    func commit() throws {
        try flush()
        guard let handle, let temporary, let target else {
            try handle?.close()
            return
        }
        try handle.synchronize()
        try handle.close()
        guard rename(temporary, target) == 0 else { throw RuntimeError("cannot rename onto \(target)") }
    }
}
