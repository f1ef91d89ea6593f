import Testing
@testable import ThingLogCore

@Suite struct JSONParserTests {
    func parse(_ text: String) throws -> JSONValue { try JSONParser.parse(Array(text.utf8)) }

    @Test func parsesEveryKindOfValue() throws {
        let value = try parse(#" {"a": [1, -2.5e3, true, false, null], "b": {"c": "d"}, "e": ""} "#)
        #expect(value == .object([
            JSONMember(key: "a", value: .array([.number(1), .number(-2500), .bool(true), .bool(false), .null])),
            JSONMember(key: "b", value: .object([JSONMember(key: "c", value: .string("d"))])),
            JSONMember(key: "e", value: .string("")),
        ]))
    }

    @Test func decodesEscapesAndSurrogatePairs() throws {
        #expect(try parse(#""a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00""#)
                == .string("a\"b\\c/d\u{8}\u{c}\n\r\té😀"))
    }

    @Test(arguments: [#""\ud83d""#, #""\ude00""#, #""\ud83d\u0041""#, #""\x""#, #""\u12g4""#])
    func rejectsBadEscapes(_ text: String) {
        #expect(throws: JSONError.self) { try parse(text) }
    }

    @Test(arguments: ["", "{", "[1,]", "{\"a\":1,}", "01", "1.", "-", "1e", "tru", "\"abc", "{} x", "{'a':1}",
                      "[1 2]", "\"a\u{1}b\"", "NaN", "Infinity", "+1", ".5"])
    func rejectsMalformedDocuments(_ text: String) {
        #expect(throws: JSONError.self) { try parse(text) }
    }

    @Test func numbersParseExactly() throws {
        #expect(try parse("123456789012345678") == .number(123456789012345678))
        #expect(try parse("0.1") == .number(0.1))
        #expect(try parse("-0") == .number(-0.0))
        #expect(try parse("1E2") == .number(100))
        #expect(try parse("2.5e-3") == .number(0.0025))
    }

    @Test func overflowingNumbersBecomeInfinite() throws {
        #expect(try parse("1e309") == .number(.infinity))
        #expect(try parse("-1e309") == .number(-.infinity))
    }

    @Test func deepNestingIsAnErrorNotACrash() {
        let deep = String(repeating: "[", count: 1_000_000)
        #expect(throws: JSONError.self) { try parse(deep) }
        let objects = String(repeating: "{\"a\":", count: 100_000)
        #expect(throws: JSONError.self) { try parse(objects) }
        let allowed = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect((try? parse(allowed)) != nil)
        let tooDeep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(throws: JSONError.self) { try parse(tooDeep) }
    }

    @Test func spansPointAtTheOriginalBytes() throws {
        let text = #"{"topic":"t","payload": {"x": [1, 2]} ,"n":3}"#
        let bytes = Array(text.utf8)
        let members = try bytes.withUnsafeBufferPointer { try JSONParser.parseObjectWithSpans($0) }
        #expect(members.map(\.member.key) == ["topic", "payload", "n"])
        #expect(String(decoding: bytes[members[1].span], as: UTF8.self) == #"{"x": [1, 2]}"#)
    }

    @Test func writerRoundTripsThroughTheParser() throws {
        let value = JSONValue.object([
            JSONMember(key: "s", value: .string("quote \" back \\ nl \n ctl \u{1} \u{2028} é")),
            JSONMember(key: "n", value: .array([.number(0.1), .number(1e-7), .number(42), .number(-3.25)])),
        ])
        #expect(try parse(JSONWriter.serialize(value)) == value)
        #expect(JSONWriter.number(42) == "42")
        #expect(JSONWriter.number(0.1) == "0.1")
        #expect(JSONWriter.number(.nan) == "null")
    }
}

@Suite struct UTF8ValidationTests {
    func isValid(_ bytes: [UInt8]) -> Bool { bytes.withUnsafeBufferPointer(UTF8Validation.isValid) }

    @Test func acceptsValidText() {
        #expect(isValid(Array("plain ascii, long enough for the word loop".utf8)))
        #expect(isValid(Array("é 中 😀 \u{10FFFF}".utf8)))
        #expect(isValid([]))
    }

    @Test(arguments: [[0xC0, 0xAF], [0xE0, 0x80, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80],
                      [0xFF], [0xFE], [0x80], [0xE2, 0x82], [0x41, 0xC3], [0xF0, 0x9F, 0x98]] as [[UInt8]])
    func rejectsInvalidSequences(_ bytes: [UInt8]) {
        #expect(!isValid(bytes))
        #expect(!isValid(Array("sixteen bytes ok".utf8) + bytes))
    }
}
