import FoundationEssentials
import Dispatch
import Glibc
import MQTT
import ThingLogCore
import ThingLogStore
import ThingLogIngest
import ThingLogReceive
import ThingLogSubscribe

/// `thinglog subscribe`: every report a broker delivers, into the store (SPEC §4).
struct SubscribeCommand: Command {
    static let name = "subscribe"
    static let abstract = "Log property reports from an MQTT broker into the store until SIGINT/SIGTERM."
    static let options = [
        OptionSpec("--broker", "HOST[:PORT]",
                   "broker address (default 127.0.0.1:1883; with --tencent, the product's host)",
                   kind: .address(defaultPort: 1883)),
        OptionSpec("--topic", "FILTER", "topic filter (default $thing/up/property/+/+ and $thing/up/event/+/+; "
                   + "$share/GROUP/FILTER passes through)", repeatable: true),
        OptionSpec("--qos", "0|1", "subscription QoS (default 1: at least once, broker to disk)",
                   kind: .choice(["0", "1"])),
        OptionSpec("--client-id", "ID", "client id (default: stable per host and store, thinglog-…)"),
        OptionSpec("--clean-session", nil, "start a clean session (default: persistent, so nothing is missed)"),
        CommonOptions.username,
        CommonOptions.passwordFile,
        OptionSpec("--tencent", "PRODUCT/DEVICE",
                   "log in as a Tencent IoT Explorer device (needs --psk-file or --psk-env)"),
        OptionSpec("--psk-file", "F", "file holding the device PSK, with --tencent"),
        OptionSpec("--psk-env", "VAR", "environment variable holding the device PSK, with --tencent"),
        OptionSpec("--keepalive", "SECONDS", "keep-alive interval, 1–900 (default 60)", kind: .integer(1...900)),
        OptionSpec("--sync", "full|normal", "full (default): every commit reaches the disk before its PUBACK; normal: "
                   + "survives a crash of thinglog, not of the machine, and commits faster",
                   kind: .choice(["full", "normal"])),
        OptionSpec("--count", "N", "exit after N messages (like mosquitto_sub -C); default: run until a signal",
                   kind: .integer(1...Int(Int32.max))),
        OptionSpec("--reply", nil, "after each commit, publish the platform's report_reply/event_reply to the device "
                   + "(code 406 when the data template flags the report), as the cloud does"),
        OptionSpec("--share-group", "G", "subscribe the default filters as $share/G/… (clustered brokers such as "
                   + "EMQX; mosquitto 2.0 delivers nothing to them)"),
        OptionSpec("--http", "HOST:PORT", "serve GET /metrics (Prometheus) and GET /healthz while subscribing",
                   kind: .address(defaultPort: 9100)),
        CommonOptions.database,
        CommonOptions.config,
        CommonOptions.progress,
    ]
    static let discussion = """
    Every message is committed to the store before its PUBACK goes out; a batch commits after 500 messages, 25 ms,
    or when the socket has nothing more to read. Connection losses reconnect with backoff (first retry within 1 s,
    at most 15 s apart), forever; refused credentials or filters stop with exit status 1. SIGINT/SIGTERM commit,
    disconnect and exit 0. mosquitto allows 20 unacknowledged QoS 1 messages per client by default: raise
    max_inflight_messages for large fleets.
    """

    let arguments: ParsedArguments
    let broker: BrokerAddress
    let filters: [String]
    let qos: QoS
    let keepAlive: UInt16
    let tencent: (product: String, device: String)?
    let messageLimit: Int?
    let durability: StoreConnection.Durability
    let httpAddress: BrokerAddress?

    init(arguments: ParsedArguments, context: CommandContext) throws {
        self.arguments = arguments
        if let text = arguments.value("--tencent") {
            let parts = text.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw UsageError("--tencent \(text): expected PRODUCT/DEVICE, e.g. CS0SLTKSYA/dev1")
            }
            tencent = (String(parts[0]), String(parts[1]))
        } else {
            tencent = nil
            if arguments.has("--psk-file") || arguments.has("--psk-env") {
                throw UsageError("--psk-file/--psk-env go with --tencent PRODUCT/DEVICE")
            }
        }
        let defaultHost = tencent.map { "\($0.product).iotcloud.tencentdevices.com" } ?? "127.0.0.1"
        broker = try BrokerAddress(arguments.value("--broker") ?? defaultHost)
        let defaultFilters = ["$thing/up/property/+/+", "$thing/up/event/+/+"]
        if let group = arguments.value("--share-group") {
            guard !arguments.has("--topic") else {
                throw UsageError("--share-group applies to the default filters: write $share/G/FILTER in --topic")
            }
            guard !group.isEmpty, !group.contains(where: { "/+#".contains($0) }) else {
                throw UsageError("--share-group \(group): expected a name without /, + or #")
            }
            filters = defaultFilters.map { "$share/\(group)/\($0)" }
        } else {
            filters = arguments.values("--topic").isEmpty ? defaultFilters : arguments.values("--topic")
        }
        httpAddress = try arguments.value("--http").map { try BrokerAddress($0, flag: "--http", defaultPort: 9100) }
        for filter in filters where !TopicFilter.isValid(filter) {
            throw UsageError("--topic \(filter): not a valid MQTT topic filter")
        }
        qos = try arguments.qos()
        keepAlive = UInt16(arguments.integer("--keepalive") ?? 60)
        durability = try arguments.durability()
        messageLimit = arguments.integer("--count")
        if arguments.has("--tencent"), arguments.has("--username") || arguments.has("--password-file") {
            throw UsageError("--tencent signs its own login: drop --username/--password-file")
        }
    }

    func run(in context: CommandContext) throws -> Int32 {
        let configuration = try context.loadConfiguration(arguments)
        let databasePath = context.databasePath(arguments)
        var username = arguments.value("--username")
        var password = try Secrets.password(arguments, context: context)
        var clientID = arguments.value("--client-id") ?? Self.defaultClientID(databasePath: databasePath)
        if let tencent {
            let credentials = try TencentCredentials(
                product: tencent.product, device: tencent.device, psk: try Secrets.psk(arguments, context: context),
                connectionID: TencentCredentials.randomConnectionID(),
                expiry: TencentCredentials.defaultExpiry(nowMilliseconds: context.clock()))
            clientID = credentials.clientID
            username = credentials.username
            password = Array(credentials.password.utf8)
        }
        let options = ClientSession.Options(
            clientID: clientID, username: username, password: password, keepAliveSeconds: keepAlive,
            cleanSession: arguments.has("--clean-session"),
            subscriptions: filters.map { Subscription(filter: $0, qos: qos) })
        // Payloads up to the store's limit arrive whole; larger ones are skipped and quarantined.
        let client = MQTTClient(host: broker.host, port: broker.port, options: options,
                                maximumPacketSize: ReportParser.maximumPayloadBytes + 70_000)
        // CONNECT goes out first, so the broker restores the session while the store opens; nothing is acknowledged
        // before a commit, so a store that fails to open loses nothing. A broker not there yet is retried by the
        // subscriber's loop, as after any lost connection.
        if (try? client.connect()) != nil { try? client.flush() }
        var settings = Subscriber.Settings()
        settings.showsStatus = arguments.has("--progress") || context.isErrorTerminal
        settings.messageLimit = messageLimit
        settings.sendsReplies = arguments.has("--reply")
        let metrics = Metrics()
        var metricsServer: MetricsServer?
        if let httpAddress {
            let server = try MetricsServer(host: httpAddress.host, port: httpAddress.port, metrics: metrics,
                                           databasePath: databasePath)
            server.start()
            metricsServer = server
        }
        defer { metricsServer?.stop() }
        let reopen = CommonOptions.writerFactory(path: databasePath, durability: durability,
                                                 limits: configuration.limits)
        // A live stream touches few pages between commits: a small cache keeps the resident set small. The writer is
        // handed over with no reference kept here, so that the writer thread's close really closes the store.
        func openWriter() throws -> StoreWriter {
            try StoreWriter(database: StoreConnection.openForWriting(path: databasePath, durability: durability,
                                                                     cacheMebibytes: 4),
                            limits: configuration.limits, minimumCacheMebibytes: 4)
        }
        let subscriber = try Subscriber(client: client, writer: openWriter(),
                                    parser: configuration.reportParser, settings: settings, metrics: metrics,
                                    wallClock: context.clock, reopen: reopen,
                                    log: { context.standardError.write($0 + "\n") })
        let stop = StopSignal.install()
        do {
            try subscriber.run(stopDescriptor: stop)
        } catch let failure as ClientSession.Failure {
            throw RuntimeError("\(broker.host):\(broker.port): \(failure)")
        }
        let stored = subscriber.totals.stored
        context.standardError.write("subscribe: \(subscriber.totals.messages) messages, \(stored.reports) reports, "
            + "\(stored.readings) readings, \(stored.duplicateReadings) duplicates, \(stored.rejectCount) rejected, "
            + "\(subscriber.totals.reconnects) reconnects"
            + (subscriber.totals.flowRate.map { ", \(Int($0)) msg/s from the first message to the last commit" } ?? "")
            + "\n")
        return 0
    }

    /// Stable across restarts for one host and store, so the broker keeps the session; distinct between stores.
    static func defaultClientID(databasePath: String) -> String {
        let host = ProcessInfo.processInfo.hostName
        let absolute = databasePath.hasPrefix("/") ? databasePath
            : FileManager.default.currentDirectoryPath + "/" + databasePath
        return "thinglog-" + hexString(SHA256.hash(Array("\(host):\(absolute)".utf8))).prefix(12)
    }
}
