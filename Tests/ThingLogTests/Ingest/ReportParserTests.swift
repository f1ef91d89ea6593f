import Testing
@testable import ThingLogCore
@testable import ThingLogIngest

@Suite struct ReportParserTests {
    let topic = "$thing/up/property/CS0SLTKSYA/dev1"
    let receivedAt: Int64 = 1_764_115_213_625

    func parse(_ payload: String, topic: String? = nil, parser: ReportParser = ReportParser()) -> ReportParser.Outcome {
        parse(bytes: Array(payload.utf8), topic: topic, parser: parser)
    }

    func parse(bytes: [UInt8], topic: String? = nil, parser: ReportParser = ReportParser()) -> ReportParser.Outcome {
        parser.parse(IncomingMessage(topic: topic ?? self.topic, payload: bytes, receivedAt: receivedAt,
                                     origin: .recorded))
    }

    func accepted(_ outcome: ReportParser.Outcome) throws -> ParsedMessage {
        guard case .accepted(let parsed) = outcome else {
            Issue.record("expected an accepted message, got \(outcome)")
            throw CancellationError()
        }
        return parsed
    }

    func reason(_ outcome: ReportParser.Outcome) -> RejectReason? {
        if case .rejected(let rejection) = outcome { return rejection.reason }
        return nil
    }

    @Test func reportBecomesReadingsInPayloadOrder() throws {
        let parsed = try accepted(parse(
            #"{"method":"report","clientToken":"123","params":{"MQ2":412,"MQ135":88.5,"on":true,"off":false,"# +
            #""name":"kitchen","pos":{"x":1},"list":[1,2]}}"#))
        #expect(parsed.topic == ThingTopic(direction: .up, kind: .property, product: "CS0SLTKSYA", device: "dev1"))
        #expect(parsed.method == "report")
        #expect(parsed.readings.map(\.metric) == ["MQ2", "MQ135", "on", "off"])
        #expect(parsed.readings.map(\.value) == [412, 88.5, 1, 0])
        #expect(parsed.deviceTimestamp == nil)
    }

    @Test func timestampUnits() throws {
        let millis = try accepted(parse(#"{"method":"report","timestamp":1764115213593,"params":{}}"#))
        #expect(millis.deviceTimestamp == 1_764_115_213_593)
        let seconds = try accepted(parse(#"{"method":"report","timestamp":1764115213,"params":{}}"#))
        #expect(seconds.deviceTimestamp == 1_764_115_213_000)
        let fractional = try accepted(parse(#"{"method":"report","timestamp":1764115213.25,"params":{}}"#))
        #expect(fractional.deviceTimestamp == 1_764_115_213_250)
    }

    @Test func timestampsOutsideTheSkewWindowAreFlagged() throws {
        let day: Int64 = 86_400_000
        let cases: [(Int64, Bool)] = [
            (receivedAt - 366 * day, false), (receivedAt - 366 * day - 1, true),
            (receivedAt + 600_000, false), (receivedAt + 600_001, true), (0, true),
        ]
        for (stamp, isSkewed) in cases {
            let parsed = try accepted(parse("{\"method\":\"report\",\"timestamp\":\(stamp),\"params\":{\"a\":1}}"))
            #expect(parsed.isClockSkewed == isSkewed, "timestamp \(stamp)")
            #expect((parsed.deviceTimestamp == nil) == isSkewed)
        }
    }

    @Test func everyRejectReason() {
        #expect(reason(parse(bytes: [0x7B, 0xFF, 0x7D])) == .invalidUTF8)
        #expect(reason(parse("")) == .notJSON)
        #expect(reason(parse("{\"method\":\"report\",")) == .notJSON)
        #expect(reason(parse("\u{ff}\u{fe} not json")) == .notJSON)
        #expect(reason(parse("[1,2]")) == .notObject)
        #expect(reason(parse("\"text\"")) == .notObject)
        #expect(reason(parse(#"{"method":"report","params":"oops"}"#)) == .noParams)
        #expect(reason(parse(#"{"method":"report"}"#)) == .noParams)
        #expect(reason(parse(#"{"method":"report","params":{"MQ2":1e309}}"#)) == .nonFiniteNumber)
        #expect(reason(parse(#"{"method":"report","params":{},"x":[-1e400]}"#)) == .nonFiniteNumber)
        #expect(reason(parse(#"{"method":"report","params":{}}"#, topic: "sensors/dev1")) == .badTopic)
        let big = "{\"method\":\"report\",\"params\":{},\"pad\":\"" + String(repeating: "x", count: 256 * 1024) + "\"}"
        #expect(reason(parse(big)) == .tooLarge)
        #expect(reason(parse(String(repeating: "[", count: 200_000))) == .notJSON, "deep nesting, not a crash")
        #expect(reason(parse(String(repeating: "[", count: 1_000_000))) == .tooLarge)
    }

    @Test func nonNumericParamsAreKeptRawNotRejected() throws {
        let parsed = try accepted(parse(#"{"method":"report","params":{"MQ2":"abc"}}"#))
        #expect(parsed.readings.isEmpty)
    }

    @Test(arguments: ["$thing/up/property/P/dev1", "$thing/down/property/P/dev1", "$thing/up/event/P/d",
                      "$thing/up/property/CS0SLTKSYA/a_b.c:d@e-f",
                      "$thing/up/property/p_-9/" + String(repeating: "d", count: 64),
                      "$thing/up/property/" + String(repeating: "P", count: 32) + "/d"])
    func acceptsDataTemplateTopics(_ topic: String) {
        #expect(ThingTopic(topic) != nil)
        #expect(ThingTopic(topic, names: .any) != nil)
    }

    @Test(arguments: ["$thing/up/action/P/<img src=x onerror=alert(1)>", "$thing/up/property/P/=SUM(A1:A9)",
                      "$thing/up/property/P/caf\u{E9}", "$thing/up/property/P/a b", "$thing/up/property/P.Q/d",
                      "$thing/up/property/" + String(repeating: "P", count: 33) + "/d"])
    func platformNamesRejectWhatAnyAccepts(_ topic: String) {
        #expect(ThingTopic(topic) == nil)
        #expect(ThingTopic(topic, names: .any) != nil)
    }

    @Test(arguments: ["$thing/up/property/P", "$thing/up/property/P/dev1/x", "$thing/sideways/property/P/d",
                      "$thing/up/service/P/d", "thing/up/property/P/d", "$thing/up/property//d",
                      "$thing/up/property/P/a+b", "$thing/up/property/P/a#", "$thing/up/property/P/a\u{1}b",
                      "$thing/up/property/P/" + String(repeating: "d", count: 65)])
    func rejectsOtherTopics(_ topic: String) {
        #expect(ThingTopic(topic) == nil)
        #expect(ThingTopic(topic, names: .any) == nil)
    }

    @Test func anyNamesStillRefuseC1ControlsAndDerivedSeriesNames() {
        #expect(ThingTopic("$thing/up/property/P/a\u{85}b", names: .any) == nil)
        #expect(ThingTopic("$thing/up/property/P/a\u{7F}", names: .any) == nil)
        for id in ["MQ7.CO", "MQ7@5m", "a\u{9B}", ""] { #expect(!NameRules.any.isValidPropertyID(id), "\(id)") }
        for id in ["MQ7.CO", "MQ7@5m", "9a", "=SUM", "a-b", "caf\u{E9}"] {
            #expect(!NameRules.platform.isValidPropertyID(id), "\(id)")
        }
        for id in ["MQ7", "_x", "DHT11_T", String(repeating: "a", count: 64)] {
            #expect(NameRules.platform.isValidPropertyID(id), "\(id)")
        }
    }

    /// SPEC §5: a timestamp that is not a finite number of ms within [received_at − 366 d, received_at + 10 min] marks
    /// the report clock_skew and times it by receive time: never an error, never a trap.
    @Test(arguments: ["-9500000000000000", "-9.3e15", "9.3e15", "-1e16", "1e17", "1.7e308", "-1.7e308", "-1",
                      "0", "\"1764115213\"", "null", "true", "{}", "[1]", "1764115213.0005", "1764115213000.5",
                      "1e-300", "1764115213000.005", "9223372036854775807", "-9223372036854775808",
                      "18446744073709551616"])
    func nonConformingTimestampsAreClockSkew(_ stamp: String) throws {
        let parsed = try accepted(parse(#"{"method":"report","timestamp":\#(stamp),"params":{"MQ7":1}}"#))
        #expect(parsed.isClockSkewed && parsed.deviceTimestamp == nil)
        #expect(parsed.readings.map(\.metric) == ["MQ7"])
        let event = try accepted(parse(#"{"method":"event_post","eventId":"e","timestamp":\#(stamp),"params":{}}"#,
                                       topic: "$thing/up/event/P/d"))
        #expect(event.events.first?.timestamp == nil)
    }

    @Test func conformingTimestampsInSecondsAndMilliseconds() throws {
        for (stamp, expected) in [("1764115213", 1_764_115_213_000), ("1764115213.125", 1_764_115_213_125),
                                  ("1764115213625", 1_764_115_213_625), ("1764115213625.0", 1_764_115_213_625),
                                  ("1733000000000", 1_733_000_000_000)] as [(String, Int64)] {
            let parsed = try accepted(parse(#"{"method":"report","timestamp":\#(stamp),"params":{"a":1}}"#))
            #expect(parsed.deviceTimestamp == expected && !parsed.isClockSkewed, "\(stamp)")
        }
        // Extreme receive times (a fuzzer's, or a broken recording's) cannot overflow the window either.
        for receivedAt in [Int64.max, Int64.min, 0] {
            let message = IncomingMessage(topic: topic,
                                          payload: Array(#"{"method":"report","timestamp":1,"params":{}}"#.utf8),
                                          receivedAt: receivedAt, origin: .recorded)
            _ = ReportParser().parse(message)
        }
    }

    @Test func repeatedKeysAreRejectedComparedAsBytes() throws {
        #expect(reason(parse(#"{"method":"report","method":"x","params":{"a":1}}"#)) == .duplicateKey)
        #expect(reason(parse(#"{"method":"report","params":{"a":1,"b":2,"a":3}}"#)) == .duplicateKey)
        #expect(reason(parse(#"{"method":"event_post","eventId":"a","params":{"x":1,"x":2}}"#)) == .duplicateKey)
        #expect(reason(parse(#"{"method":"report_info","params":{"fw":"1","fw":"2"}}"#)) == .duplicateKey)
        let many = (0..<40).map { "\"k\($0)\":1" }.joined(separator: ",")
        #expect(reason(parse(#"{"method":"report","params":{"# + many + #","k7":2}}"#)) == .duplicateKey)
        // Canonically equivalent but different bytes: two keys (the second breaks the platform id rule).
        let parsed = try accepted(parse("{\"method\":\"report\",\"params\":{\"caf\u{E9}\":1,\"cafe\u{301}\":2}}",
                                        parser: ReportParser(names: .any)))
        #expect(parsed.readings.count == 2)
    }

    @Test func tooManyPropertiesAreRejected() throws {
        let params = (0..<257).map { "\"p\($0)\":\($0)" }.joined(separator: ",")
        #expect(reason(parse(#"{"method":"report","params":{"# + params + "}}")) == .tooManyProperties)
        let fewer = (0..<256).map { "\"p\($0)\":\($0)" }.joined(separator: ",")
        #expect(try accepted(parse(#"{"method":"report","params":{"# + fewer + "}}")).readings.count == 256)
        let limited = ReportParser(limits: IngestLimits(propertiesPerReport: 2, seriesPerDevice: 9, devices: 9))
        #expect(reason(parse(#"{"method":"report","params":{"a":1,"b":2,"c":3}}"#, parser: limited))
                == .tooManyProperties)
    }

    @Test func derivedAndFormulaNamesAreNotSeries() throws {
        let parsed = try accepted(parse(#"{"method":"report","params":"#
                                        + #"{"MQ7.CO":400,"MQ7@5m":1,"=SUM(A1)":1,"MQ7":9}}"#))
        #expect(parsed.readings.map(\.metric) == ["MQ7"])
        #expect(parsed.invalidPropertyIDCount == 3)
    }

    @Test func eventsWithBadIdsAreRejected() {
        let topic = "$thing/up/event/P/d"
        for payload in [#"{"method":"event_post","eventId":"a.b","params":{}}"#,
                        #"{"method":"event_post","params":{}}"#,
                        #"{"method":"event_post","eventId":"ok","type":"\u001b[31m","params":{}}"#,
                        #"{"method":"events_post","events":[{"eventId":"ok"},{"eventId":"=cmd"}]}"#] {
            #expect(reason(parse(payload, topic: topic)) == .badEvent, "\(payload)")
        }
    }

    @Test func longOrControlPropertyIDsStayInTheRawReport() throws {
        let long = String(repeating: "p", count: 65)
        let parsed = try accepted(parse("{\"method\":\"report\",\"params\":{\"\(long)\":1,\"a\\u0001\":2,\"ok\":3}}"))
        #expect(parsed.readings.map(\.metric) == ["ok"])
        #expect(parsed.invalidPropertyIDCount == 2)
    }

    @Test func templateFlagsRangeAndUnknownProperties() throws {
        let template = DataTemplate(productID: "CS0SLTKSYA", properties: [
            "MQ2": .range(min: 0, max: 1023), "sw": .keys([0, 1]), "mode": .keys([0, 1, 2]),
        ])
        let parser = ReportParser(template: template)
        let parsed = try accepted(parse(
            #"{"method":"report","params":{"MQ2":1024,"sw":true,"mode":3,"extra":5,"MQ2b":-1}}"#, parser: parser))
        #expect(parsed.readings.count == 5)
        #expect(parsed.outOfRangeCount == 2)
        #expect(parsed.unknownPropertyCount == 2)
        let otherProduct = try accepted(parse(#"{"method":"report","params":{"MQ2":5000}}"#,
                                              topic: "$thing/up/property/OTHER/dev1", parser: parser))
        #expect(otherProduct.outOfRangeCount == 0 && otherProduct.unknownPropertyCount == 0)
    }

    @Test func templateExportIsRead() throws {
        let json = try JSONParser.parse(Array(#"""
            {"version":"1.0","profile":{"ProductId":"P1"},"properties":[
             {"id":"t","define":{"type":"int","min":"0","max":"50"}},
             {"id":"f","define":{"type":"float","min":"-1.5","max":"1.5"}},
             {"id":"b","define":{"type":"bool","mapping":{"0":"off","1":"on"}}},
             {"id":"e","define":{"type":"enum","mapping":{"0":"a","5":"b"}}},
             {"id":"s","define":{"type":"string","min":"0","max":"16"}}]}
            """#.utf8))
        let template = try DataTemplate(json: json)
        #expect(template.productID == "P1")
        #expect(template.check("t", value: 50) == .valid)
        #expect(template.check("t", value: 51) == .outOfRange)
        #expect(template.check("f", value: -1.6) == .outOfRange)
        #expect(template.check("b", value: 1) == .valid)
        #expect(template.check("e", value: 5) == .valid)
        #expect(template.check("e", value: 4) == .outOfRange)
        #expect(template.check("s", value: 1) == .outOfRange)
        #expect(template.check("zz", value: 1) == .unknownProperty)
    }

    @Test func eventsAreParsed() throws {
        let single = try accepted(parse(
            #"{"method":"event_post","clientToken":"c","version":"1.0","eventId":"gas_alarm","type":"alert","# +
            #""timestamp":1764115213000,"params":{"MQ2":900}}"#, topic: "$thing/up/event/CS0SLTKSYA/dev1"))
        #expect(single.events == [ParsedEvent(eventID: "gas_alarm", type: "alert", timestamp: 1_764_115_213_000,
                                              params: #"{"MQ2":900}"#)])
        #expect(single.readings.isEmpty)
        let batch = try accepted(parse(
            #"{"method":"events_post","events":[{"eventId":"a","type":"info","params":{}},"# +
            #"{"eventId":"b","type":"fault","timestamp":1764115213,"params":{"x":"y"}}]}"#,
            topic: "$thing/up/event/CS0SLTKSYA/dev1"))
        #expect(batch.events.map(\.eventID) == ["a", "b"])
        #expect(batch.events[1].timestamp == 1_764_115_213_000)
        #expect(batch.events[0].timestamp == nil)
    }

    @Test func otherMethodsAreAcceptedWithoutReadings() throws {
        let info = try accepted(parse(#"{"method":"report_info","params":{"fw_ver":"1.2","lat":"31.2"}}"#))
        #expect(info.method == "report_info" && info.readings.isEmpty)
        let noMethod = try accepted(parse(#"{"params":{"a":1}}"#))
        #expect(noMethod.method == nil && noMethod.readings.isEmpty)
    }

    /// The two crashes `scripts/fuzz` found (report and every ingest target), as they were found: a timestamp in
    /// −1e16…−9.22e15 (×1000 overflowed Int64) and a receive time at Int64.min (the skew window overflowed).
    @Test func fuzzerReproducersParse() throws {
        let payload = #"{"method":"report","timestamp":-9500000000000000,"params":{"MQ7":1}}"#
        let topic = "$thing/up/property/CS0SLTKSYA/dev1"
        #expect(try accepted(parse(payload, topic: topic)).isClockSkewed)
        let example = #"{"method":"report","clientToken":"CS0SLTKSYA-17","timestamp":1700000000123,"params":{"MQ7":1}}"#
        let extreme = ReportParser().parse(IncomingMessage(topic: topic, payload: Array(example.utf8),
                                                           receivedAt: .min, origin: .live))
        guard case .accepted(let parsed) = extreme else {
            Issue.record("expected the report accepted")
            return
        }
        #expect(parsed.deviceTimestamp == 1_700_000_000_123 || parsed.isClockSkewed)
        let lines: [(IngestFormat, String)] = [
            (.payload, payload),
            (.mosquitto, topic + " " + payload),
            (.jsonl, #"{"topic":"\#(topic)","received_at":1764000000000,"payload":\#(JSONWriter.quoted(payload))}"#),
            (.forward, #"{"payload":\#(payload),"seq":10498444,"timestamp":1764000000,"topic":"\#(topic)"}"#),
        ]
        for (format, line) in lines {
            let decoder = LineDecoder(format: format, parser: ReportParser(), topic: topic,
                                      clock: { 1_764_000_000_000 })
            let entry = Array(line.utf8).withUnsafeBufferPointer { decoder.decode(.text($0)) }
            guard case .accepted(let accepted)? = entry else {
                Issue.record("\(format): expected an accepted report")
                continue
            }
            #expect(accepted.parsed.isClockSkewed, "\(format)")
        }
    }
}
