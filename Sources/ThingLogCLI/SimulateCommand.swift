import Glibc
import MQTT
import ThingLogCore
import ThingLogStore
import ThingLogSubscribe

/// `thinglog simulate`: seeded device reports, published over MQTT or written as jsonl (SPEC §4).
struct SimulateCommand: Command {
    static let name = "simulate"
    static let abstract = "Publish realistic, seeded device reports to a broker, or write them as jsonl with --out."
    static let options = [
        OptionSpec("--broker", "HOST[:PORT]", "broker to publish to (default 127.0.0.1:1883)",
                   kind: .address(defaultPort: 1883)),
        OptionSpec("--product", "ID", "product id in the topics (default CS0SLTKSYA)"),
        OptionSpec("--devices", "N", "number of devices dev1…devN (default 5)", kind: .integer(1...100_000)),
        OptionSpec("--rate", "R", "reports per second over all devices when publishing (default 100)"),
        OptionSpec("--count", "N", "stop after N reports (default 1000 without --duration)",
                   kind: .integer(1...Int(Int32.max))),
        OptionSpec("--duration", "SECONDS", "stop after this long (with --out: this much simulated time)",
                   kind: .integer(1...366 * 86_400)),
        OptionSpec("--qos", "0|1", "publish QoS (default 1; waits for every PUBACK)", kind: .choice(["0", "1"])),
        OptionSpec("--seed", "S", "random seed (default 1): same seed, same data"),
        OptionSpec("--start", "T", "simulated start time with --out (ISO 8601, YYYY-MM-DD or epoch ms; default "
                   + "yesterday 00:00 UTC)", kind: .time),
        OptionSpec("--interval", "SECONDS", "mean seconds between one device's reports with --out (default 10)",
                   kind: .integer(1...86_400)),
        OptionSpec("--out", "FILE", "write jsonl ingest records to FILE (- for stdout) instead of publishing"),
        CommonOptions.username,
        CommonOptions.passwordFile,
        CommonOptions.progress,
    ]

    let arguments: ParsedArguments
    var settings = ReportSimulator.Settings()
    let count: Int?
    let durationMilliseconds: Int64?
    let rate: Double
    let qos: QoS
    let broker: BrokerAddress

    init(arguments: ParsedArguments, context: CommandContext) throws {
        self.arguments = arguments
        settings.devices = arguments.integer("--devices") ?? 5
        settings.product = arguments.value("--product") ?? settings.product
        guard NameRules.platform.isValidProduct(settings.product.utf8) else {
            throw UsageError("--product \(settings.product): expected a ProductID of [A-Za-z0-9_-]{1,32}")
        }
        if let text = arguments.value("--seed") {
            guard let seed = UInt64(text) else { throw UsageError("--seed \(text): expected a non-negative integer") }
            settings.seed = seed
        }
        if let interval = arguments.integer("--interval") {
            settings.intervalMilliseconds = Int64(interval) * 1000
        }
        let yesterday = (context.clock() / Timestamp.millisecondsPerDay - 1) * Timestamp.millisecondsPerDay
        if let text = arguments.value("--start") {
            guard let start = Timestamp.parseArgument(text, timeZone: .utc) else {
                throw UsageError("--start \(text): expected ISO 8601 with a zone, YYYY-MM-DD or epoch milliseconds")
            }
            settings.start = start
        } else {
            settings.start = yesterday
        }
        guard !(arguments.has("--count") && arguments.has("--duration")) else {
            throw UsageError("--count and --duration: give one of them")
        }
        let duration = arguments.integer("--duration")
        durationMilliseconds = duration.map { Int64($0) * 1000 }
        count = arguments.integer("--count") ?? (duration == nil ? 1000 : nil)
        let rateText = arguments.value("--rate") ?? "100"
        guard let rate = Double(rateText.hasSuffix("/s") ? String(rateText.dropLast(2)) : rateText), rate > 0,
              rate.isFinite else {
            throw UsageError("--rate \(rateText): expected reports per second, e.g. 100 or 100/s")
        }
        self.rate = rate
        qos = try arguments.qos()
        broker = try BrokerAddress(arguments.value("--broker") ?? "127.0.0.1")
    }

    func run(in context: CommandContext) throws -> Int32 {
        if let out = arguments.value("--out") { return try write(to: out, context: context) }
        return try publish(context: context)
    }

    private func write(to path: String, context: CommandContext) throws -> Int32 {
        var simulator = ReportSimulator(settings: settings)
        let output = try OutputFile(path: path, context: context)
        var jitter = SeededGenerator(seed: settings.seed ^ 0x5EED)
        var written = 0
        while true {
            let report = simulator.next()
            if let count, written >= count { break }
            if let durationMilliseconds, report.timestamp >= settings.start + durationMilliseconds { break }
            let receivedAt = report.timestamp + 5 + Int64(jitter.unit() * 75)
            try output.write("{\"topic\":\(JSONWriter.quoted(report.topic)),\"received_at\":\(receivedAt),"
                             + "\"payload\":\(JSONWriter.quoted(report.payload))}\n")
            written += 1
        }
        try output.commit()
        context.standardError.write("simulate: wrote \(written) reports of \(settings.devices) devices to \(path)\n")
        return 0
    }

    private func publish(context: CommandContext) throws -> Int32 {
        var simulator = ReportSimulator(settings: settings)
        let password = try Secrets.password(arguments, context: context)
        let options = ClientSession.Options(clientID: "thinglog-sim-\(getpid())",
                                            username: arguments.value("--username"),
                                            password: password, cleanSession: true)
        let client = MQTTClient(host: broker.host, port: broker.port, options: options)
        let stop = StopSignal.install()
        let window = 200
        let started = MonotonicClock.now()
        var nextSendAt = Double(started)
        var sent = 0, acknowledged = 0, isReady = false
        var lastTimestamps: [String: Int64] = [:]
        func isDone(_ now: Int64) -> Bool {
            if let count { return sent >= count }
            return now - started >= durationMilliseconds ?? 0
        }
        while !StopSignal.isRequested(stop) {
            let now = MonotonicClock.now()
            let finished = isDone(now)
            if finished && (qos == .atMostOnce || client.session.inFlightCount == 0) && client.pendingOutputCount == 0 {
                break
            }
            if isReady, !finished, Double(now) >= nextSendAt, client.session.inFlightCount < window {
                var report = simulator.next()
                // Real time, strictly increasing per device: a device never stamps two reports alike.
                report.timestamp = max(context.clock(), (lastTimestamps[report.device] ?? 0) + 1)
                lastTimestamps[report.device] = report.timestamp
                client.publish(topic: report.topic, payload: Array(report.payload.utf8), qos: qos)
                sent += 1
                nextSendAt = max(nextSendAt + 1000 / rate, Double(now - 1000))
                continue
            }
            let wait = finished || !isReady ? 100 : max(0, Int64(nextSendAt.rounded(.up)) - now)
            for event in client.poll(timeoutMilliseconds: Int32(clamping: wait), wakeDescriptors: [stop]).events {
                switch event {
                case .ready: isReady = true
                case .published: acknowledged += 1
                case .downgraded: break
                case .disconnected(let reason):
                    isReady = false
                    context.standardError.write("simulate: connection lost: \(reason); reconnecting\n")
                case .failed(let failure): throw RuntimeError("\(broker.host):\(broker.port): \(failure)")
                case .opened, .delivered, .deliveredOversized: break
                case .connectFailed(let reason, let wait):
                    context.standardError.write("simulate: cannot connect to \(broker.host):\(broker.port): \(reason); "
                                                + "retrying in \(Formatting.fixed(Double(wait) / 1000, digits: 1)) s\n")
                }
            }
        }
        client.disconnect()
        let seconds = Double(max(1, MonotonicClock.now() - started)) / 1000
        context.standardError.write("simulate: published \(sent) reports of \(settings.devices) devices in "
            + "\(Formatting.fixed(seconds, digits: 2)) s (\(Int(Double(sent) / seconds))/s)"
            + (qos == .atLeastOnce ? ", \(acknowledged) acknowledged" : "") + "\n")
        return 0
    }
}
