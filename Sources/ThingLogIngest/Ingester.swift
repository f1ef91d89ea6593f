import Foundation
import ThingLogCore
import ThingLogStore

/// Streams input lines into the store (SPEC §4 `ingest`): every line becomes a report, a duplicate or a quarantined
/// reject, and none stops the run.
///
/// The store refusing an entry (a constraint someone added, not anything a line can hold: names, sizes and numbers
/// are bounded before they reach SQL) stops the run with exit 1 and commits nothing of the open batch; the input can
/// be ingested again, as ingest is idempotent.
///
/// Two threads share the work: one reads and parses lines into chunks of entries, the calling thread writes them
/// inside a transaction that commits every `batchMessages` entries. The queue between them holds a few chunks, so
/// memory does not grow with the input.
public final class Ingester {
    public let writer: StoreWriter
    public let decoder: LineDecoder
    private var inTransaction = false
    private var pendingEntries = 0
    public private(set) var summary = AppendSummary()

    /// A transaction commits after this many entries.
    public var batchMessages = 50_000
    static let chunkSize = 512

    public init(writer: StoreWriter, decoder: LineDecoder) {
        self.writer = writer
        self.decoder = decoder
    }

    private enum Chunk: Sendable {
        case entries([StoreEntry])
        case failed(RuntimeError)
    }

    /// Reads every line of `reader`, then commits; `progress` is called after each commit.
    public func ingest(_ reader: LineReader, progress: (AppendSummary) -> Void = { _ in }) throws {
        let queue = BoundedQueue<Chunk>(capacity: 8)
        let producer = ProducerState(reader: reader, decoder: decoder)
        let finished = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            producer.run(into: queue)
            finished.signal()
        }
        defer {
            queue.close()
            finished.wait()
        }
        do {
            while let chunk = queue.pop() {
                switch chunk {
                case .failed(let error): throw error
                case .entries(let entries): try write(entries)
                }
                if pendingEntries >= batchMessages {
                    try commit()
                    progress(summary)
                }
            }
            try commit()
            progress(summary)
        } catch {
            if inTransaction { writer.rollback(); inTransaction = false }
            throw error
        }
    }

    /// The reading and parsing half, run on its own thread; it owns the reader and decoder while it runs.
    private final class ProducerState: @unchecked Sendable {
        let reader: LineReader
        var decoder: LineDecoder

        init(reader: LineReader, decoder: LineDecoder) {
            self.reader = reader
            self.decoder = decoder
        }

        func run(into queue: BoundedQueue<Chunk>) {
            var chunk: [StoreEntry] = []
            chunk.reserveCapacity(Ingester.chunkSize)
            do {
                while let line = try reader.next() {
                    if let entry = decoder.decode(line) { chunk.append(entry) }
                    if chunk.count >= Ingester.chunkSize {
                        guard queue.push(.entries(chunk)) else { return }
                        chunk.removeAll(keepingCapacity: true)
                    }
                }
                if !chunk.isEmpty { queue.push(.entries(chunk)) }
            } catch {
                if !chunk.isEmpty { queue.push(.entries(chunk)) }
                queue.push(.failed(error))
            }
            queue.close()
        }
    }

    private func write(_ entries: [StoreEntry]) throws {
        if !inTransaction {
            try writer.begin()
            inTransaction = true
        }
        try writer.write(entries)
        pendingEntries += entries.count
    }

    /// Commits what was written since the last commit.
    public func commit() throws {
        guard inTransaction else { return }
        inTransaction = false
        pendingEntries = 0
        summary.add(try writer.commit())
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
