/// Streams input lines into the store in batched transactions (SPEC §4 `ingest`): every line becomes a report,
/// a duplicate or a quarantined reject; none stops the run.
public final class Ingester {
    public let writer: StoreWriter
    public let parser: ReportParser
    public let format: IngestFormat
    public let topic: String?
    private let clock: () -> Int64
    private var pending: [StoreEntry] = []
    private var pendingBytes = 0
    public private(set) var summary = AppendSummary()
    public private(set) var linesRead = 0

    /// A batch commits after this many messages or this many payload bytes.
    public var batchMessages = 10_000
    public var batchBytes = 8 * 1024 * 1024

    public init(writer: StoreWriter, parser: ReportParser, format: IngestFormat, topic: String?,
                clock: @escaping () -> Int64 = Timestamp.now) {
        self.writer = writer
        self.parser = parser
        self.format = format
        self.topic = topic
        self.clock = clock
        pending.reserveCapacity(batchMessages)
    }

    /// Reads every line of `reader`; `progress` is called after each committed batch.
    public func ingest(_ reader: LineReader, progress: (AppendSummary) -> Void = { _ in }) throws {
        while let line = try reader.next() {
            linesRead += 1
            switch line {
            case .text(let bytes):
                add(bytes)
            case .tooLong(let prefix, let size):
                append(.rejected(Rejection(reason: .lineTooLong, detail: "line of \(size) bytes exceeds 16 MiB",
                                           topic: nil, receivedAt: clock(), bytes: prefix, size: size)), bytes: 0)
            }
            if pending.count >= batchMessages || pendingBytes >= batchBytes {
                try flush()
                progress(summary)
            }
        }
        try flush()
        progress(summary)
    }

    /// Decodes and parses one line into the pending batch.
    public func add(_ line: UnsafeBufferPointer<UInt8>) {
        switch format.decode(line, now: clock(), topic: topic) {
        case .blank:
            break
        case .rejected(let rejection):
            append(.rejected(rejection), bytes: rejection.bytes.count)
        case .message(let message, let parsedPayload):
            switch parser.parse(message, parsedPayload: parsedPayload) {
            case .accepted(let parsed): append(.accepted(message, parsed), bytes: message.payload.count)
            case .rejected(let rejection): append(.rejected(rejection), bytes: rejection.bytes.count)
            }
        }
    }

    private func append(_ entry: StoreEntry, bytes: Int) {
        pending.append(entry)
        pendingBytes += bytes
    }

    /// Commits the pending batch.
    public func flush() throws {
        guard !pending.isEmpty else { return }
        summary.add(try writer.append(pending))
        pending.removeAll(keepingCapacity: true)
        pendingBytes = 0
    }
}
