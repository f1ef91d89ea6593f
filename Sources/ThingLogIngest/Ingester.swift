import FoundationEssentials
import Dispatch
import Glibc
import ThingLogCore
import ThingLogStore

/// Streams input lines into the store (SPEC §4 `ingest`): every line becomes a report, a duplicate or a quarantined
/// reject, and none stops the run.
///
/// The store refusing an entry (a constraint someone added, not anything a line can hold: names, sizes and numbers
/// are bounded before they reach SQL) stops the run with exit 1 and commits nothing of the open batch; the input can
/// be ingested again, as ingest is idempotent.
///
/// Two threads share the work: the calling thread reads and parses lines into chunks of entries, and the writer
/// thread (`GroupCommitter`, as `subscribe` and `receive` use) writes them into one transaction that commits every
/// `batchMessages` entries. A few chunks wait between them at most, so memory does not grow with the input.
public final class Ingester {
    public let decoder: LineDecoder
    private let committer: GroupCommitter<Void>
    public private(set) var summary = AppendSummary()

    /// A transaction commits after this many entries.
    public var batchMessages = 50_000
    static let chunkSize = 512

    public init(writer: sending StoreWriter, decoder: LineDecoder) throws {
        self.decoder = decoder
        committer = try GroupCommitter(writer: writer, capacity: 8)
    }

    deinit {
        _ = try? committer.finish()
    }

    /// Reads every line of `reader`, then commits; `progress` is called after each commit.
    public func ingest(_ reader: LineReader, progress: (AppendSummary) -> Void = { _ in }) throws {
        var chunk: [StoreEntry] = []
        chunk.reserveCapacity(Self.chunkSize)
        var pendingEntries = 0
        func collect(_ done: [GroupCommitter<Void>.Done]) {
            guard !done.isEmpty else { return }
            for batch in done { summary.add(batch.summary) }
            progress(summary)
        }
        do {
            while let line = try reader.next() {
                if let entry = decoder.decode(line) { chunk.append(entry) }
                guard chunk.count >= Self.chunkSize else { continue }
                pendingEntries += chunk.count
                let commits = pendingEntries >= batchMessages
                try committer.submit(.init(entries: chunk, token: (), commits: commits))
                if commits { pendingEntries = 0 }
                chunk.removeAll(keepingCapacity: true)
                collect(try committer.takeFinished())
            }
        } catch let error as RuntimeError {
            // The input failed: stop the writer, which rolls back the open transaction.
            _ = try? committer.finish()
            throw error
        }
        try committer.submit(.init(entries: chunk, token: (), commits: true))
        collect(try committer.waitUntilWritten())
    }
}

/// Turns input lines of one format into store entries: decode the line, parse the message, quarantine what fails.
public struct LineDecoder: Sendable {
    public var format: IngestFormat
    public var parser: ReportParser
    /// `--topic` for `--format payload`.
    public var topic: String?
    public var clock: @Sendable () -> Int64

    public init(format: IngestFormat, parser: ReportParser, topic: String?,
                clock: @escaping @Sendable () -> Int64 = Timestamp.now) {
        self.format = format
        self.parser = parser
        self.topic = topic
        self.clock = clock
    }

    /// The entry for one line, or nil for a blank line.
    public func decode(_ line: LineReader.Line) -> StoreEntry? {
        switch line {
        case .tooLong(let prefix, let size):
            return .rejected(Rejection(reason: .lineTooLong, detail: "line of \(size) bytes exceeds 16 MiB",
                                       topic: nil, receivedAt: clock(), bytes: prefix, size: size))
        case .text(let bytes):
            switch format.decode(bytes, now: clock(), topic: topic) {
            case .blank:
                return nil
            case .rejected(let rejection):
                return .rejected(rejection)
            case .message(let message, let parsedPayload):
                return parser.entry(for: message, parsedPayload: parsedPayload)
            }
        }
    }
}
