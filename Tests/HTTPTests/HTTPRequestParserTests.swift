import Testing
@testable import HTTP

/// The request parser as a pure state machine: whole requests, every split point, pipelining, chunked bodies, and
/// each refusal with its status.
@Suite struct HTTPRequestParserTests {
    func parse(_ text: String, maximumBody: Int = 1024) throws -> [HTTPRequest] {
        var parser = HTTPRequestParser(maximumHeaderBytes: 1024, maximumBodyBytes: maximumBody)
        parser.append(Array(text.utf8))
        var requests: [HTTPRequest] = []
        while let request = try parser.next() { requests.append(request) }
        return requests
    }

    func error(_ text: String, maximumBody: Int = 1024) -> HTTPRequestError? {
        do {
            _ = try parse(text, maximumBody: maximumBody)
            return nil
        } catch {
            return error as? HTTPRequestError
        }
    }

    let post = "POST /thinglog/forward?Signature=ab%20c&x=1+2 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n"
        + "Nonce:  n1 \r\n\r\nhello"

    @Test func aRequestWithABody() throws {
        let requests = try parse(post)
        #expect(requests.count == 1)
        let request = try #require(requests.first)
        #expect(request.method == "POST" && request.path == "/thinglog/forward")
        #expect(request.queryValue("Signature") == "ab c" && request.queryValue("x") == "1 2")
        #expect(request.header("nonce") == "n1", "names lower-cased, optional whitespace trimmed")
        #expect(request.body == Array("hello".utf8) && request.keepAlive)
    }

    @Test func everySplitPointGivesTheSameRequests() throws {
        let text = post + "GET /metrics HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
        let whole = try parse(text)
        #expect(whole.count == 2 && whole[1].path == "/metrics" && !whole[1].keepAlive)
        let bytes = Array(text.utf8)
        for split in 0...bytes.count {
            var parser = HTTPRequestParser()
            var requests: [HTTPRequest] = []
            parser.append(bytes[0..<split])
            while let request = try parser.next() { requests.append(request) }
            parser.append(bytes[split...])
            while let request = try parser.next() { requests.append(request) }
            #expect(requests == whole, "split at \(split)")
        }
    }

    @Test func chunkedBodiesAreJoined() throws {
        let text = "POST /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "5;ext=1\r\nhello\r\n1\r\n!\r\n0\r\nTrailer: x\r\n\r\n"
        let request = try #require(try parse(text).first)
        #expect(request.body == Array("hello!".utf8))
    }

    @Test func eachRefusalHasItsStatus() {
        #expect(error("BAD\r\n\r\n")?.status == 400)
        #expect(error("GET /p HTTP/2.0\r\nHost: h\r\n\r\n")?.status == 400)
        #expect(error("GET /p HTTP/1.1\r\n\r\n")?.status == 400, "HTTP/1.1 needs Host")
        #expect(error("GET /p HTTP/1.1\r\nHost: h\r\nBad Name: v\r\n\r\n")?.status == 400)
        #expect(error("GET /p HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n")?.status == 400)
        #expect(error("POST /p HTTP/1.1\r\nHost: h\r\n\r\n")?.status == 411)
        #expect(error("POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 2000\r\n\r\n")?.status == 413)
        #expect(error("POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n")?.status == 400)
        #expect(error("POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999\r\n\r\n")?.status == 400)
        #expect(error("POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab")?.status
                == 400)
        #expect(error("POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n")?
            .status == 400, "both framings: a smuggling attempt")
        #expect(error("POST /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n")?.status == 501)
        #expect(error("POST /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")?.status == 400)
        // Fuzzer reproducer: a signed chunk size ("-6") was read as a negative length and trapped.
        #expect(error("POST /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n-6;x\r\nabc")?.status == 400)
        #expect(error("POST /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n+6\r\nabcdef\r\n0\r\n\r\n")?
            .status == 400)
        #expect(error("POST /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n", maximumBody: 100)?
            .status == 413)
        #expect(error("GET /p HTTP/1.1\r\nHost: h\r\nX: " + String(repeating: "a", count: 2000) + "\r\n\r\n")?
            .status == 431)
        #expect(error("GET /%zz HTTP/1.1\r\nHost: h\r\n\r\n")?.status == 400)
    }

    @Test func headersThatNeverEndAreRefusedAtTheLimit() {
        var parser = HTTPRequestParser(maximumHeaderBytes: 1024)
        parser.append(Array("GET / HTTP/1.1\r\nHost: h\r\n".utf8))
        #expect((try? parser.next()) == .some(nil), "more bytes needed")
        parser.append([UInt8](repeating: UInt8(ascii: "a"), count: 2000))
        #expect(throws: HTTPRequestError.headersTooLarge) { try parser.next() }
        #expect(throws: HTTPRequestError.headersTooLarge) { try parser.next() }
    }

    /// Fuzzer reproducer: empty lines before a request are skipped whether they arrive whole or byte by byte.
    @Test func leadingEmptyLinesAreSkippedHoweverTheyArrive() throws {
        let bytes: [UInt8] = [0x0A, 0x0A, 0x0D, 0x0A, 0x0D, 0x0A, 0x0A, 0x0A, 0xE2]
        var whole = HTTPRequestParser()
        whole.append(bytes)
        #expect(try whole.next() == nil)
        var pieces = HTTPRequestParser()
        for byte in bytes {
            pieces.append([byte])
            #expect(try pieces.next() == nil)
        }
        #expect(try parse("\r\n\nGET / HTTP/1.1\r\nHost: h\r\n\r\n").first?.path == "/")
    }

    @Test func http10ClosesUnlessKeepAlive() throws {
        #expect(try parse("GET / HTTP/1.0\r\n\r\n").first?.keepAlive == false)
        #expect(try parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").first?.keepAlive == true)
    }

    /// Random bytes (seeded, reproducible) never trap and end in a request, a need for more, or an error.
    @Test(arguments: 0..<20) func randomBytesNeverTrap(seed: UInt64) {
        var state = seed &+ 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 {
            state = state &+ 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        let alphabet = Array(("GET POST /p?a=%20 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n"
                              + "Transfer-Encoding: chunked\r\n0;:").utf8)
        var parser = HTTPRequestParser(maximumHeaderBytes: 512, maximumBodyBytes: 64)
        for _ in 0..<200 {
            let count = Int(next() % 16)
            parser.append((0..<count).map { _ in next() % 4 == 0 ? UInt8(truncatingIfNeeded: next())
                                                                 : alphabet[Int(next() % UInt64(alphabet.count))] })
            do {
                while try parser.next() != nil {}
            } catch {
                #expect([400, 411, 413, 431, 501].contains(error.status), "seed \(seed)")
                return
            }
        }
    }
}
