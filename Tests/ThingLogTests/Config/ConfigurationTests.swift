import Testing
@testable import ThingLogCore

@Suite struct ConfigurationTests {
    let directory = TemporaryDirectory()

    func load(_ text: String?) throws -> Configuration {
        let path = text.map { directory.write("thinglog.json", $0) }
        return try ConfigurationLoader.load(path: path, currentDirectory: directory.path)
    }

    func error(_ text: String) -> String {
        do {
            _ = try load(text)
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    @Test func builtInDefaultsAreTheSpecExample() throws {
        let configuration = try load(nil)
        #expect(configuration.sensors.map(\.key) == ["MQ135", "MQ2", "MQ4", "MQ7"])
        let mq2 = try #require(configuration.sensors.first { $0.key == "MQ2" })
        #expect(mq2.gases.map(\.gas) == ["LPG", "CO", "Smoke"])
        #expect(mq2.input == .adc(bits: 10, vref: 5.0) && mq2.loadOhms == 10_000 && mq2.r0Ohms == nil)
        #expect(configuration.sensors.first { $0.key == "MQ135" }?.gases.map(\.gas) == ["CO2", "NH4"])
        #expect(configuration.sensors.first { $0.key == "MQ7" }?.gases.map(\.gas) == ["CO"])
        #expect(configuration.windows.map(\.name) == ["1m", "5m", "15m", "1h"])
        #expect(configuration.warmupMilliseconds == 180_000)
        #expect(configuration.alarms.count == 9)
        #expect(configuration.alarms[0] == AlarmRule(name: "co-50", severity: .warning, kind: .threshold(
            series: "MQ7.CO", isAbove: true, threshold: 50, clear: 35, forMilliseconds: 3_600_000)))
        #expect(configuration.alarms[8].kind == .stale(afterMilliseconds: 600_000))
        #expect(configuration.compensation == Compensation(temperatureProperty: "DHT11_T",
                                                           humidityProperty: "DHT11_H", isEnabled: false))
    }

    @Test func fileMergesOverDefaultsAndReplacesAlarms() throws {
        let configuration = try load("""
            {"sensors": {"MQ7": {"r0_ohms": 12000, "input": {"kind": "volts"}},
                         "MQ7b": {"model": "MQ7", "gases": ["CO", "H2"]}},
             "windows": ["30s"],
             "alarms": [{"name": "hot", "metric": "DHT11_T", "above": 35, "for": "5m", "severity": "info"},
                        {"name": "cold", "metric": "DHT11_T@30s", "below": 5, "clear": 7},
                        {"name": "stuck", "kind": "stuck", "metric": "MQ2", "for": "30m"}]}
            """)
        let mq7 = try #require(configuration.sensors.first { $0.key == "MQ7" })
        #expect(mq7.r0Ohms == 12_000 && mq7.input == .volts && mq7.loadOhms == 10_000)
        #expect(configuration.sensors.first { $0.key == "MQ7b" }?.gases.map(\.gas) == ["CO", "H2"])
        #expect(configuration.sensors.count == 5)
        #expect(configuration.windows == [RollingWindow(name: "30s", milliseconds: 30_000)])
        #expect(configuration.alarms.map(\.name) == ["hot", "cold", "stuck"])
        #expect(configuration.alarms[1].kind == .threshold(series: "DHT11_T@30s", isAbove: false, threshold: 5,
                                                            clear: 7, forMilliseconds: 0))
    }

    @Test func errorsNameTheFileAndKeyPath() {
        let cases: [(String, String)] = [
            (#"{"sensorz": {}}"#, "thinglog.json: sensorz: unknown key"),
            (#"{"sensors": {"MQ7": {"input": {"kind": "adc", "bits": "ten"}}}}"#,
             "sensors.MQ7.input.bits: expected a number"),
            (#"{"sensors": {"MQ7": {"model": "MQ9"}}}"#, "sensors.MQ7.model: no curves for sensor model \"MQ9\""),
            (#"{"sensors": {"MQ7": {"gases": ["CO", "Radon"]}}}"#, "sensors.MQ7.gases[1]: MQ7 has no curve"),
            (#"{"sensors": {"MQ7": {"rl": 1}}}"#, "sensors.MQ7.rl: unknown key"),
            (#"{"warmup": "3 minutes"}"#, "warmup: bad duration"),
            (#"{"windows": ["1m", "5x"]}"#, "windows[1]: bad duration"),
            (#"{"alarms": [{"name": "a", "metric": "MQ7.CO", "above": 5, "for": "10"}]}"#,
             "alarms[0].for: bad duration"),
            (#"{"alarms": [{"name": "a", "metric": "MQ7.CO"}]}"#, "alarms[0]: a threshold rule needs exactly one"),
            (#"{"alarms": [{"name": "a", "metric": "MQ7.C0", "above": 5}]}"#,
             "alarms[0].metric: no ppm series \"MQ7.C0\""),
            (#"{"alarms": [{"name": "a", "metric": "MQ7.CO@7m", "above": 5}]}"#, "alarms[0].metric: window \"7m\""),
            (#"{"alarms": [{"name": "a", "metric": "MQ7.CO", "above": 5, "clear": 9}]}"#, "alarms[0].clear"),
            (#"{"alarms": [{"name": "a", "kind": "stale"}]}"#, "alarms[0].after"),
            (#"{"alarms": [{"name": "a", "kind": "weird"}]}"#, "alarms[0].kind: unknown rule kind"),
            (#"{"alarms": [{"name": "a", "metric": "x", "above": 1, "severity": "meh"}]}"#, "alarms[0].severity"),
            (#"{"compensation": {"enabled": "yes"}}"#, "compensation.enabled: expected true or false"),
            ("{not json", "not valid JSON"),
        ]
        for (text, expected) in cases {
            let message = error(text)
            #expect(message.contains(expected), "\(text) → \(message)")
            #expect(message.contains("thinglog.json"), "\(message) names the file")
        }
    }

    @Test func templateIsLoadedRelativeToTheConfigFile() throws {
        directory.write("tpl.json", #"{"profile":{"ProductId":"P1"},"properties":"#
                        + #"[{"id":"a","define":{"type":"int","min":"0","max":"5"}}]}"#)
        let configuration = try load(#"{"template": "tpl.json"}"#)
        #expect(configuration.template?.productID == "P1")
        #expect(configuration.template?.check("a", value: 6) == .outOfRange)
        #expect(throws: RuntimeError.self) { try load(#"{"template": "missing.json"}"#) }
    }
}
