/// The MQTT login of a Tencent IoT Explorer PSK device (protocol.md §4).
public struct TencentCredentials: Equatable, Sendable {
    public enum Signature: String, Sendable, CaseIterable {
        case hmacsha256, hmacsha1
    }

    public var clientID: String
    public var username: String
    public var password: String
    public var host: String
    public var port: Int

    /// The documented sdkappid.
    public static let sdkAppID = "12010126"

    /// Signs a login. `psk` is the device secret as the console shows it (base64); the HMAC key is its decoding.
    public init(product: String, device: String, psk: String, connectionID: String, expiry: Int64,
                signature: Signature = .hmacsha256) throws(UsageError) {
        guard let key = Base64.decode(psk), !key.isEmpty else {
            throw UsageError("the device PSK is not base64 (copy it from the console's device page)")
        }
        clientID = product + device
        username = "\(product)\(device);\(Self.sdkAppID);\(connectionID);\(expiry)"
        let mac: [UInt8]
        switch signature {
        case .hmacsha256: mac = HMAC<SHA256>.authenticationCode(for: Array(username.utf8), key: key)
        case .hmacsha1: mac = HMAC<SHA1>.authenticationCode(for: Array(username.utf8), key: key)
        }
        password = hexString(mac) + ";" + signature.rawValue
        host = "\(product).iotcloud.tencentdevices.com"
        port = 1883
    }

    /// The default signature end (SPEC §4): now + 365 days, in epoch seconds.
    public static func defaultExpiry(nowMilliseconds: Int64) -> Int64 { nowMilliseconds / 1000 + 365 * 86_400 }

    /// A random 5-character `[A-Z0-9]` connection id.
    public static func randomConnectionID() -> String {
        let symbols = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        return String((0..<5).map { _ in symbols.randomElement() ?? "A" })
    }
}
