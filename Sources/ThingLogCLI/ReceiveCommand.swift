import FoundationEssentials
import Dispatch
import Glibc
import ThingLogCore
import ThingLogIngest
import ThingLogReceive
import ThingLogStore

/// `thinglog receive`: the platform's HTTP data forwarding into the store (SPEC §4).
struct ReceiveCommand: Command {
    static let name = "receive"
    static let abstract = "Serve the cloud platform's HTTP data forwarding into the store until SIGINT/SIGTERM."
    static let options = [
        OptionSpec("--listen", "HOST:PORT", "address to listen on (default 127.0.0.1:8080)",
                   kind: .address(defaultPort: 8080)),
        OptionSpec("--path", "/PATH", "where the forwarding rule POSTs (default /thinglog/forward)"),
        OptionSpec("--token-file", "F", "file holding the forwarding rule's token (first line): requests must be "
                   + "signed"),
        OptionSpec("--token-env", "VAR", "environment variable holding the token"),
        OptionSpec("--no-auth", nil, "accept unsigned requests on a non-loopback address"),
        OptionSpec("--max-body", "BYTES", "largest request body (default 1048576); larger ones get 413",
                   kind: .integer(1...256 * 1024 * 1024)),
        OptionSpec("--sync", "full|normal", "full (default): every commit reaches the disk before its 200; normal: "
                   + "survives a crash of thinglog, not of the machine, and commits faster",
                   kind: .choice(["full", "normal"])),
        CommonOptions.database,
        CommonOptions.config,
        CommonOptions.progress,
    ]
    static let discussion = """
    POST PATH: one forwarding envelope or a JSON array of them; 200 only after every envelope is committed, with a
    JSON body naming the quarantined ones. GET PATH with Echostr: the rule's handshake. GET /metrics: Prometheus text
    format. GET /healthz: 200 ok, or 503 with the reason. With a token, Signature/Timestamp/Nonce (headers or query
    parameters) must verify and Timestamp be within 5 minutes, else 401. TLS: put nginx or Caddy in front.
    """

    let arguments: ParsedArguments
    let listen: BrokerAddress
    let path: String
    let maximumBody: Int
    let durability: StoreConnection.Durability

    init(arguments: ParsedArguments, context: CommandContext) throws {
        self.arguments = arguments
        listen = try BrokerAddress(arguments.value("--listen") ?? "127.0.0.1:8080", flag: "--listen",
                                   defaultPort: 8080)
        path = arguments.value("--path") ?? "/thinglog/forward"
        guard path.hasPrefix("/"), !["/metrics", "/healthz"].contains(path),
              path.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "?") }) else {
            throw UsageError("--path \(path): expected a path such as /thinglog/forward (not /metrics or /healthz)")
        }
        maximumBody = arguments.integer("--max-body") ?? 1024 * 1024
        durability = try arguments.durability()
        if arguments.has("--token-file") && arguments.has("--token-env") {
            throw UsageError("--token-file and --token-env conflict: give the token once")
        }
        let hasToken = arguments.has("--token-file") || arguments.has("--token-env")
        if hasToken && arguments.has("--no-auth") {
            throw UsageError("--no-auth conflicts with --token-file/--token-env")
        }
        if !hasToken && !arguments.has("--no-auth") && !Self.isLoopback(listen.host) {
            throw UsageError("--listen \(listen.host): listening beyond loopback needs --token-file F or "
                             + "--token-env VAR (or --no-auth, explicitly)")
        }
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    func run(in context: CommandContext) throws -> Int32 {
        let configuration = try context.loadConfiguration(arguments)
        var token: String?
        if let file = arguments.value("--token-file") {
            token = try Secrets.read(file: file, flag: "--token-file", context: context)
        } else if let variable = arguments.value("--token-env") {
            guard let value = context.environment[variable], !value.isEmpty else {
                throw UsageError("--token-env \(variable): the variable is not set")
            }
            token = value
        }
        if let token, token.isEmpty { throw UsageError("the token is empty") }
        let databasePath = context.databasePath(arguments)
        // By default every answered request is committed with FULL sync: the platform never resends what it got a
        // 200 for, so the commit must survive a power loss too.
        // Handed over with no reference kept here, so that the writer thread's close really closes the store.
        func openWriter() throws -> StoreWriter {
            try StoreWriter(database: StoreConnection.openForWriting(path: databasePath, durability: durability,
                                                                     cacheMebibytes: 4),
                            limits: configuration.limits, minimumCacheMebibytes: 4)
        }
        let settings = Receiver.Settings(path: path, token: token, maximumBodyBytes: maximumBody,
                                         databasePath: databasePath)
        let log: (String) -> Void = { context.standardError.write($0 + "\n") }
        let reopen = CommonOptions.writerFactory(path: databasePath, durability: durability,
                                                    limits: configuration.limits)
        let receiver = try Receiver(host: listen.host, port: listen.port, writer: openWriter(),
                                    parser: configuration.reportParser, settings: settings, wallClock: context.clock,
                                    reopen: reopen, log: log)
        log("receive: listening on http://\(listen.host):\(receiver.port)\(path)"
            + (token == nil ? " (requests not signed)" : " (signed requests only)"))
        try receiver.run(stopDescriptor: StopSignal.install())
        let metrics = receiver.metrics
        func count(_ result: String) -> Int {
            Int(metrics.value("thinglog_messages_total", [("source", "http"), ("result", result)]))
        }
        log("receive: \(count("stored")) reports, \(Int(metrics.value("thinglog_readings_total"))) readings, "
            + "\(count("duplicate")) duplicates, \(count("rejected")) rejected")
        return 0
    }
}
