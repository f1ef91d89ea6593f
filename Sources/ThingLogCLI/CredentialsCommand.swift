import ThingLogCore
import MQTT

/// `thinglog credentials`: the MQTT login of a Tencent IoT Explorer PSK device (SPEC §4, protocol.md §4).
struct CredentialsCommand: Command {
    static let name = "credentials"
    static let abstract = "Print the MQTT client id, user name and password of a Tencent IoT Explorer device."
    static let options = [
        OptionSpec("--product", "ID", "product id (10 characters, e.g. CS0SLTKSYA)", required: true),
        OptionSpec("--device", "NAME", "device name", required: true),
        OptionSpec("--psk-file", "F", "file holding the device PSK (base64, as the console shows it)"),
        OptionSpec("--psk-env", "VAR", "environment variable holding the device PSK"),
        OptionSpec("--psk", "B64", "the PSK inline (warns: argv is visible to other users)"),
        OptionSpec("--connid", "X", "connection id for tracing (default: 5 random [A-Z0-9])"),
        OptionSpec("--expiry", "UNIX_SECONDS", "end of the signature's validity (default: now + 365 days)"),
        OptionSpec("--sign", "METHOD", "hmacsha256 (default) or hmacsha1",
                   kind: .choice(TencentCredentials.Signature.allCases.map(\.rawValue))),
        OptionSpec("--json", nil, "print {\"clientid\", \"username\", \"password\", \"host\", \"port\"}"),
    ]

    let arguments: ParsedArguments
    let product: String
    let device: String
    let expiry: Int64?
    let signature: TencentCredentials.Signature

    init(arguments: ParsedArguments, context: CommandContext) throws {
        guard let product = arguments.value("--product"), !product.isEmpty else {
            throw UsageError("--product ID is required")
        }
        guard let device = arguments.value("--device"), !device.isEmpty else {
            throw UsageError("--device NAME is required")
        }
        self.product = product
        self.device = device
        if let text = arguments.value("--expiry") {
            guard let value = Int64(text), value > 0 else {
                throw UsageError("--expiry \(text): expected epoch seconds, e.g. 2623045740")
            }
            expiry = value
        } else {
            expiry = nil
        }
        signature = try arguments.choice("--sign", default: TencentCredentials.Signature.hmacsha256)
        self.arguments = arguments
    }

    func run(in context: CommandContext) throws -> Int32 {
        let psk = try Secrets.psk(arguments, context: context)
        let credentials = try TencentCredentials(
            product: product, device: device, psk: psk,
            connectionID: arguments.value("--connid") ?? TencentCredentials.randomConnectionID(),
            expiry: expiry ?? TencentCredentials.defaultExpiry(nowMilliseconds: context.clock()), signature: signature)
        if arguments.has("--json") {
            context.standardOutput.write("{\"clientid\":\(JSONWriter.quoted(credentials.clientID)),"
                + "\"username\":\(JSONWriter.quoted(credentials.username)),"
                + "\"password\":\(JSONWriter.quoted(credentials.password)),"
                + "\"host\":\(JSONWriter.quoted(credentials.host)),\"port\":\(credentials.port)}\n")
        } else {
            context.standardOutput.write("clientid \(credentials.clientID)\nusername \(credentials.username)\n"
                                         + "password \(credentials.password)\n")
        }
        return 0
    }
}
