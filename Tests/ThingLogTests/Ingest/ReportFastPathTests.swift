import Testing
@testable import ThingLogCore
@testable import ThingLogIngest

/// The report fast path (`ReportParser.parsedReport`) against the general parse: the same outcome, field for field,
/// on every payload, and the usual report really takes the fast path.
@Suite struct ReportFastPathTests {
    let topic = "$thing/up/property/CS0SLTKSYA/dev1"
    let receivedAt: Int64 = 1_764_115_213_625

    /// Everything a parse gives, as text (readings by their bits).
    func describe(_ outcome: ReportParser.Outcome) -> String {
        switch outcome {
        case .rejected(let rejection): "rejected \(rejection.reason.rawValue): \(rejection.detail)"
        case .accepted(let parsed):
            "accepted \(parsed.method ?? "-") token \(parsed.clientToken ?? "-") "
                + "at \(String(describing: parsed.deviceTimestamp)) skew \(parsed.isClockSkewed) "
                + "readings \(parsed.readings.map { "\($0.metric)=\($0.value.bitPattern)" }) events \(parsed.events) "
                + "range \(parsed.outOfRangeCount) unknown \(parsed.unknownPropertyCount) "
                + "invalid \(parsed.invalidPropertyIDCount)"
        }
    }

    static let payloads: [String] = [
        #"{"method":"report","clientToken":"dev1-1","params":{"MQ2":148,"MQ135":127,"DHT11_T":20.5},"#
            + #""timestamp":1764115200000}"#,
        #" { "method" : "report" , "params" : { "MQ2" : -0 , "MQ7" : 1e2 , "x" : true , "y" : false } } "#,
        #"{"method":"report","params":{}}"#,
        #"{"method":"report","params":{"a":null,"b":"text","c":1.5E-3,"d":-12345678901234567890}}"#,
        #"{"method":"report","timestamp":1764115200,"params":{"MQ2":1}}"#,
        #"{"method":"report","timestamp":"1764115200000","params":{"MQ2":1}}"#,
        #"{"method":"report","timestamp":1e300,"params":{"MQ2":1}}"#,
        #"{"method":"report","timestamp":null,"clientToken":7,"params":{"MQ2":1}}"#,
        #"{"method":"report","params":{"MQ2":1e309}}"#,
        #"{"method":"report","params":{"MQ2":1,"MQ2":2}}"#,
        #"{"method":"report","method":"report","params":{"MQ2":1}}"#,
        #"{"method":"report","params":{"MQ2":1},"params":{"MQ7":2}}"#,
        #"{"method":"report","params":{"M\u0051":1}}"#,
        #"{"method":"report","params":{"MQ2":[1]}}"#,
        #"{"method":"report","params":{"MQ2":{"v":1}}}"#,
        #"{"method":"report","params":"none"}"#,
        #"{"method":"report"}"#,
        #"{"method":"report","sys":{"a":1},"params":{"MQ2":1}}"#,
        #"{"method":"report","params":{"MQ2":1}} x"#,
        #"{"method":"report","params":{"MQ2":1},}"#,
        #"{"method":"report","params":{"MQ2":01}}"#,
        #"{"method":"report","params":{"MQ2":1.}}"#,
        #"{"method":"report","params":{"1bad":1,"ok_1":2,"has space":3,"":4}}"#,
        #"{"method":"report","params":{"café":1}}"#,
        #"{"method":"report_info","params":{"fw":"1.2"}}"#,
        #"{"method":"event_post","eventId":"alarm","type":"alert","params":{"level":3}}"#,
        #"{"method":null,"params":{"MQ2":1}}"#,
        #"{"params":{"MQ2":1}}"#,
        #"[1,2]"#,
        #"{"method":"report","clientToken":"\#(String(repeating: "t", count: 300))","params":{"MQ2":1}}"#,
        #"{"method":"report","params":{"#
            + (0..<20).map { "\"p\($0)\":\($0)" }.joined(separator: ",") + "}}",
        "{\"method\":\"report\",\"params\":{\"MQ2\":1,\"bad\":\"tab\there\"}}",
        "",
    ]

    @Test(arguments: payloads)
    func bothPathsAgree(_ payload: String) {
        let template = DataTemplate(productID: "CS0SLTKSYA", properties: [
            "MQ2": .range(min: 0, max: 1023), "x": .keys([0, 1]), "DHT11_T": .range(min: 0, max: 50),
        ])
        let limited = ReportParser(limits: IngestLimits(propertiesPerReport: 2, seriesPerDevice: 9, devices: 9))
        for parser in [ReportParser(), ReportParser(template: template), ReportParser(names: .any), limited] {
            for origin in [IncomingMessage.Origin.live, .recorded] {
                let message = IncomingMessage(topic: topic, payload: Array(payload.utf8), receivedAt: receivedAt,
                                              origin: origin)
                #expect(describe(parser.parse(message)) == describe(parser.parse(message, fastPath: false)))
            }
        }
    }

    /// One parser for every payload, twice over: layouts the fast path remembers (`ParseMemo`) give what a fresh
    /// parse gives, including same keys with other values (in and out of the template's range, other types), and a
    /// parser whose template or name rules change does not reuse what it decided under the old ones.
    @Test func rememberedLayoutsGiveWhatTheGeneralParseGives() {
        let template = DataTemplate(productID: "CS0SLTKSYA", properties: [
            "MQ2": .range(min: 0, max: 1023), "x": .keys([0, 1]), "DHT11_T": .range(min: 0, max: 50),
        ])
        let sameKeys = [
            #"{"method":"report","clientToken":"a","params":{"MQ2":5000,"MQ135":"x","DHT11_T":-1}}"#,
            #"{"method":"report","clientToken":"b","params":{"MQ2":true,"MQ135":null,"DHT11_T":50}}"#,
            #"{"method":"report","params":{"1bad":"s","ok_1":2.5,"has space":false,"":4}}"#,
            #"{"method":"report","params":{"x":2,"y":1}}"#,
            #"{"method":"report","params":{"x":1,"y":1}}"#,
        ]
        var parsers = [ReportParser(), ReportParser(template: template), ReportParser(names: .any)]
        var changing = ReportParser()
        for round in 0..<2 {
            for payload in Self.payloads + sameKeys + Self.payloads.reversed() {
                let message = IncomingMessage(topic: topic, payload: Array(payload.utf8), receivedAt: receivedAt,
                                              origin: .live)
                for parser in parsers + [changing] {
                    #expect(describe(parser.parse(message)) == describe(parser.parse(message, fastPath: false)),
                            "round \(round): \(payload)")
                }
            }
            changing.template = template
            changing.names = .any
            parsers.append(changing)
        }
        // The same layout, under a template that came later: judged by it.
        var parser = ReportParser()
        let message = IncomingMessage(topic: topic, payload: Array(sameKeys[0].utf8), receivedAt: receivedAt,
                                      origin: .live)
        guard case .accepted(let before) = parser.parse(message) else { return #expect(Bool(false)) }
        parser.template = template
        guard case .accepted(let after) = parser.parse(message) else { return #expect(Bool(false)) }
        #expect(before.outOfRangeCount == 0 && before.unknownPropertyCount == 0)
        #expect(after.outOfRangeCount == 2 && after.unknownPropertyCount == 0)
    }

    @Test func theUsualReportTakesTheFastPath() throws {
        let parser = ReportParser()
        let message = IncomingMessage(topic: topic, payload: Array(Self.payloads[0].utf8), receivedAt: receivedAt,
                                      origin: .live)
        let thingTopic = try #require(ThingTopic(topic, names: .platform))
        let parsed = try #require(parser.parsedReport(message, topic: thingTopic))
        #expect(parsed.readings.map(\.metric) == ["MQ2", "MQ135", "DHT11_T"])
        #expect(parsed.readings.map(\.value) == [148, 127, 20.5])
        #expect(parsed.clientToken == "dev1-1" && parsed.deviceTimestamp == 1_764_115_200_000)
        // Escapes, duplicates and non-ASCII leave it to the general parse.
        for payload in [Self.payloads[9], Self.payloads[12], Self.payloads[23]] {
            let other = IncomingMessage(topic: topic, payload: Array(payload.utf8), receivedAt: receivedAt,
                                        origin: .live)
            #expect(parser.parsedReport(other, topic: thingTopic) == nil)
        }
    }
}
