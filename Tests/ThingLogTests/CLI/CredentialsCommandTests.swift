import Testing
@testable import ThingLogCore

@Suite struct CredentialsCommandTests {
    let directory = TemporaryDirectory()

    @Test func printsTheSpecExampleFromAFile() {
        directory.write("psk", "IyXmUW5sU/q1vnb5yzTkeQ==\n")
        let result = runCLI(["credentials", "--product", "CS0SLTKSYA", "--device", "dev1", "--psk-file", "psk",
                             "--connid", "ZR5GT", "--expiry", "2623045740"], in: directory.path)
        #expect(result.status == 0)
        #expect(result.standardOutput == """
            clientid CS0SLTKSYAdev1
            username CS0SLTKSYAdev1;12010126;ZR5GT;2623045740
            password 2debdc61b009ef8d09597f106f6f8ca36f101415459b0623780a81e711e7257c;hmacsha256

            """)
        #expect(result.standardError.isEmpty, "the secret is never echoed")
    }

    @Test func jsonFromTheEnvironmentWithDefaults() throws {
        let result = runCLI(["credentials", "--product", "CS0SLTKSYA", "--device", "dev1", "--psk-env", "PSK",
                             "--json"],
                            in: directory.path, environment: ["PSK": "IyXmUW5sU/q1vnb5yzTkeQ=="],
                            clock: { 1_800_000_000_000 })
        #expect(result.status == 0)
        let json = try JSONParser.parse(Array(result.standardOutput.utf8))
        #expect(json.members?.map(\.key) == ["clientid", "username", "password", "host", "port"])
        #expect(json["host"] == .string("CS0SLTKSYA.iotcloud.tencentdevices.com"))
        #expect(json["port"] == .number(1883))
        let username = try #require(json["username"]?.stringValue)
        let parts = username.split(separator: ";")
        #expect(parts.count == 4 && parts[2].count == 5 && parts[3] == "\(1_800_000_000 + 365 * 86_400)")
        #expect(parts[2].allSatisfy { $0.isUppercase || $0.isNumber })
    }

    @Test func inlinePSKWarnsAndBadInputIsAUsageError() {
        let inline = runCLI(["credentials", "--product", "P", "--device", "d", "--psk", "IyXmUW5sU/q1vnb5yzTkeQ=="],
                            in: directory.path)
        #expect(inline.status == 0)
        #expect(inline.standardError.contains("warning: --psk puts the device secret in argv"))
        #expect(!inline.standardError.contains("IyXmUW5s"))
        #expect(runCLI(["credentials", "--product", "P", "--device", "d"], in: directory.path).status == 2)
        #expect(runCLI(["credentials", "--product", "P", "--device", "d", "--psk", "not base64!"],
                       in: directory.path).status == 2)
        #expect(runCLI(["credentials", "--product", "P", "--device", "d", "--psk-env", "NOPE"],
                       in: directory.path).status == 2)
        let sign = runCLI(["credentials", "--product", "P", "--device", "d", "--psk-env", "X", "--sign", "md5"],
                          in: directory.path, environment: ["X": "AAAA"])
        #expect(sign.status == 2)
        #expect(sign.standardError.contains("--sign md5: expected hmacsha256 or hmacsha1"))
    }
}
