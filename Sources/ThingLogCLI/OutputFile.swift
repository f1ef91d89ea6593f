import FoundationEssentials
import Dispatch
import Glibc
import ThingLogCore
import ThingLogStore
import MQTT

/// A text output that appears whole or not at all: written to a temporary file beside the target and renamed on
/// `commit()` (SPEC §4). `-` writes to standard output directly, and so does a target that exists and is not a
/// regular file (`/dev/null`, a FIFO): renaming over those would replace the device, not write to it.
///
/// The temporary file is created with `O_CREAT|O_EXCL|O_NOFOLLOW` under a fresh name (a link planted there is never
/// followed) and synced to the disk before the rename, so a crash leaves the old file or the new one, never a torn one.
final class OutputFile {
    private let target: String?
    private let temporary: String?
    private var descriptor: Int32?
    private let context: CommandContext
    private var buffer: [UInt8] = []

    init(path: String, context: CommandContext) throws {
        self.context = context
        if path == "-" {
            target = nil
            temporary = nil
            return
        }
        let resolved = context.resolve(path)
        var status = stat()
        if stat(resolved, &status) == 0, status.st_mode & S_IFMT != S_IFREG {
            let descriptor = open(resolved, O_WRONLY | O_CLOEXEC)
            guard descriptor >= 0 else {
                throw RuntimeError("cannot write \(path): \(String(cString: strerror(errno)))")
            }
            target = nil
            temporary = nil
            self.descriptor = descriptor
            return
        }
        let created = try DurableFile.createTemporary(beside: resolved)
        target = resolved
        temporary = created.path
        descriptor = created.descriptor
    }

    deinit {
        if let descriptor {
            close(descriptor)
            if let temporary { unlink(temporary) }
        }
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
        if let descriptor {
            try DurableFile.write(buffer, to: descriptor, path: temporary ?? target ?? "output")
        } else {
            context.standardOutput.write(String(decoding: buffer, as: UTF8.self))
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes, syncs and renames the temporary file over the target.
    func commit() throws {
        try flush()
        guard let descriptor else { return }
        self.descriptor = nil
        guard let temporary, let target else {
            close(descriptor)
            return
        }
        do {
            try DurableFile.syncAndClose(descriptor, path: temporary)
            guard rename(temporary, target) == 0 else {
                throw RuntimeError("cannot rename onto \(target): \(String(cString: strerror(errno)))")
            }
        } catch {
            unlink(temporary)
            throw error
        }
        DurableFile.syncDirectory(containing: target)
    }
}
