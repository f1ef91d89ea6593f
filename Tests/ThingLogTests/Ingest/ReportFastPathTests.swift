import Testing
@testable import ThingLogCore
@testable import ThingLogIngest
@testable import ThingLogCLI

/// The report fast path (`ReportParser.readsReport`, `readsAlongPlan`) against the general parse: the same outcome,
/// field for field, on every payload, and the usual report really takes the fast path.
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

    /// The payload with the digits of its numbers changed at random (a digit run after a letter, digit or `_` is
    /// part of a name and stays): another payload of the same shape, when the split says so.
    static func variant(of payload: [UInt8], using generator: inout SeededGenerator) -> [UInt8] {
        func isDigit(_ byte: UInt8) -> Bool { (0x30...0x39).contains(byte) }
        func isWord(_ byte: UInt8) -> Bool {
            isDigit(byte) || byte == 0x5F || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
        }
        var output: [UInt8] = []
        var index = 0
        while index < payload.count {
            guard isDigit(payload[index]), index == 0 || !isWord(payload[index - 1]) else {
                output.append(payload[index])
                index += 1
                continue
            }
            var end = index
            while end < payload.count, isDigit(payload[end]) { end += 1 }
            let length = end - index
            switch Int.random(in: 0..<4, using: &generator) {
            case 0: output += payload[index..<end]   // unchanged
            case 1:   // same length, any digits (a leading zero makes another shape, filtered out)
                output += (0..<length).map { _ in UInt8.random(in: 0x30...0x39, using: &generator) }
            case 2: output += Array(String(UInt64.random(in: 0...9_999_999, using: &generator)).utf8)
            default: output += Array(String(UInt64.random(in: 0...UInt64(Int64.max), using: &generator)).utf8)
            }
            index = end
        }
        return output
    }

    /// Payloads of one shape read by its plan (`ReportPlan`) give what the general parse gives, value for value:
    /// other digits in readings, timestamps, tokens and other members (including numbers that leave the range a
    /// Double holds), under a template, under tight limits, and after the template changes.
    @Test(arguments: [21, 22] as [UInt64])
    func plannedShapesGiveWhatTheGeneralParseGives(seed: UInt64) throws {
        var generator = SeededGenerator(seed: seed)
        let template = DataTemplate(productID: "CS0SLTKSYA", properties: [
            "MQ2": .range(min: 0, max: 1023), "x": .keys([0, 1]), "DHT11_T": .range(min: 0, max: 50),
        ])
        let shaped = [
            #"{"method":"report","clientToken":"dev1-17","params":{"MQ2":148,"MQ135":-127,"x":1,"DHT11_T":20.5},"#
                + #""timestamp":1764115213000}"#,
            #"{"method":"report","timestamp":1764115213,"params":{"MQ2":0,"MQ4":1e2,"MQ7":2.5E-3}}"#,
            #"{"method":"report","sys":1e308,"fw":"v1.2-3","params":{"MQ2":12,"x":true,"note":"7 of 9"}}"#,
            #"{"timestamp":"1764115213000","clientToken":5,"params":{"MQ2":99},"method":"report"}"#,
            #"{"method":"report","params":{"p1":1,"2":2}}"#,
        ]
        var changing = ReportParser()
        let parsers = [ReportParser(), ReportParser(template: template), ReportParser(names: .any),
                       ReportParser(limits: IngestLimits(propertiesPerReport: 3, seriesPerDevice: 9, devices: 9))]
        var planned = 0, alongPlan = 0
        for base in shaped + Self.payloads {
            let shape = PayloadShape(payload: Array(base.utf8), receivedAt: receivedAt)
            for round in 0..<60 {
                if round == 30 { changing.template = template }
                let payload = round == 0 ? Array(base.utf8) : Self.variant(of: Array(base.utf8), using: &generator)
                let split = PayloadShape(payload: payload, receivedAt: receivedAt)
                guard split?.shape == shape?.shape else { continue }
                let message = IncomingMessage(topic: topic, payload: payload, receivedAt: receivedAt, origin: .live)
                for parser in parsers + [changing] {
                    if round > 0, let split, let plan = parser.parseMemo.plan(for: split.shape),
                       let thingTopic = ThingTopic(topic, names: parser.names),
                       payload.withUnsafeBufferPointer({
                           var parsed = ParsedMessage(topic: thingTopic)
                           return parser.readsPlanned(plan, $0, message: message, shape: split, lengths: nil,
                                                      into: &parsed)
                       }) {
                        planned += 1
                    }
                    #expect(describe(parser.parse(message, shape: split))
                            == describe(parser.parse(message, fastPath: false)),
                            "\(String(decoding: payload, as: UTF8.self))")
                    // The entry, which splits a report along its topic's last plan when it has that shape.
                    if round > 0, let split, let plan = parser.parseMemo.topic(topic)?.plan,
                       plan.shape == split.shape {
                        alongPlan += 1
                    }
                    let general = describe(parser.parse(message, fastPath: false))
                    switch parser.entry(for: message) {
                    case .accepted(let accepted):
                        #expect(describe(.accepted(accepted.parsed)) == general)
                        #expect(accepted.parsed.payloadShape == split)
                    case .rejected(let rejection):
                        #expect(describe(.rejected(rejection)) == general)
                    }
                }
            }
        }
        #expect(planned > 1_000, "variants read by their plans")
        #expect(alongPlan > 1_000, "entries split along their topic's last plan")
        // A key that holds a number leaves no plan (another number would be another key).
        let keyed = try #require(PayloadShape(payload: Array(shaped[4].utf8), receivedAt: receivedAt))
        #expect(parsers[0].parseMemo.plan(for: keyed.shape) == nil)
    }

    /// What the memo keeps per topic stays within its bounds, and is forgotten when the rules it was decided under
    /// change.
    @Test func topicPlansAreBoundedAndForgottenWithTheLimits() throws {
        var parser = ReportParser()
        let report = #"{"method":"report","params":{"MQ2":148,"MQ135":127,"MQ4":126,"MQ7":79},"#
            + #""timestamp":1764115213000}"#
        for digit in ["1", "2"] {
            let payload = Array(report.replacingOccurrences(of: "148", with: "14" + digit).utf8)
            _ = parser.entry(for: IncomingMessage(topic: topic, payload: payload, receivedAt: receivedAt,
                                                  origin: .live))
        }
        #expect(parser.parseMemo.topic(topic)?.plan != nil, "the topic's last plan is kept")
        // Tighter limits: the same shape must now be rejected, as the general parse rejects it.
        parser.limits = IngestLimits(propertiesPerReport: 3, seriesPerDevice: 9, devices: 9)
        let message = IncomingMessage(topic: topic, payload: Array(report.utf8), receivedAt: receivedAt, origin: .live)
        guard case .rejected(let rejection) = parser.entry(for: message) else {
            Issue.record("four params accepted under a limit of three")
            return
        }
        #expect(rejection.reason == .tooManyProperties)
        // A shape larger than the memo keeps is not kept for its topic either.
        let other = "$thing/up/property/CS0SLTKSYA/dev2"
        let large = #"{"method":"report","clientToken":""# + String(repeating: "a", count: 8_000)
            + #"","params":{"t":1}}"#
        for _ in 0..<2 {
            _ = parser.entry(for: IncomingMessage(topic: other, payload: Array(large.utf8), receivedAt: receivedAt,
                                                  origin: .live))
        }
        #expect(parser.parseMemo.topic(other) != nil && parser.parseMemo.topic(other)?.plan == nil)
    }

    /// The fast path's parse of `message`, or nil when it leaves the message to the general parse.
    func fastPath(_ parser: ReportParser, _ message: IncomingMessage, _ topic: ThingTopic) -> ParsedMessage? {
        var parsed = ParsedMessage(topic: topic)
        return parser.readsReport(message, shape: nil, into: &parsed) ? parsed : nil
    }

    @Test func theUsualReportTakesTheFastPath() throws {
        let parser = ReportParser()
        let message = IncomingMessage(topic: topic, payload: Array(Self.payloads[0].utf8), receivedAt: receivedAt,
                                      origin: .live)
        let thingTopic = try #require(ThingTopic(topic, names: .platform))
        let parsed = try #require(fastPath(parser, message, thingTopic))
        #expect(parsed.readings.map(\.metric) == ["MQ2", "MQ135", "DHT11_T"])
        #expect(parsed.readings.map(\.value) == [148, 127, 20.5])
        #expect(parsed.clientToken == "dev1-1" && parsed.deviceTimestamp == 1_764_115_200_000)
        // Escapes, duplicates and non-ASCII leave it to the general parse.
        for payload in [Self.payloads[9], Self.payloads[12], Self.payloads[23]] {
            let other = IncomingMessage(topic: topic, payload: Array(payload.utf8), receivedAt: receivedAt,
                                        origin: .live)
            #expect(fastPath(parser, other, thingTopic) == nil)
        }
    }
}
