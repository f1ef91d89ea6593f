/// One HTTP/1.1 request (RFC 9112), as the parser hands it over.
public struct HTTPRequest: Sendable, Equatable {
    public var method: String
    /// The path of the request target, without the query.
    public var path: String
    /// The query parameters, percent-decoded, in order.
    public var query: [(name: String, value: String)]
    /// Header fields with lower-cased names, in order.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// Whether the connection stays open after the response (HTTP/1.1 unless `Connection: close`).
    public var keepAlive: Bool

    /// The first field named `name` (lower case).
    public func header(_ name: String) -> String? {
        headers.first { $0.name == name }?.value
    }

    /// The first query parameter named `name`.
    public func queryValue(_ name: String) -> String? {
        query.first { $0.name == name }?.value
    }

    public static func == (lhs: HTTPRequest, rhs: HTTPRequest) -> Bool {
        lhs.method == rhs.method && lhs.path == rhs.path && lhs.body == rhs.body && lhs.keepAlive == rhs.keepAlive
            && lhs.query.map(\.name) == rhs.query.map(\.name) && lhs.query.map(\.value) == rhs.query.map(\.value)
            && lhs.headers.map(\.name) == rhs.headers.map(\.name)
            && lhs.headers.map(\.value) == rhs.headers.map(\.value)
    }
}

/// Why a request cannot be served; each maps to the status the server answers before it closes the connection.
public enum HTTPRequestError: Error, Equatable, Sendable {
    /// A malformed request line, header field or chunk (400).
    case badRequest(String)
    /// A body without a length on a method that needs one (411).
    case lengthRequired
    /// A body over the limit (413).
    case bodyTooLarge
    /// A request line and header fields over the limit (431).
    case headersTooLarge
    /// A transfer coding other than `chunked` (501).
    case unsupportedTransferEncoding

    public var status: Int {
        switch self {
        case .badRequest: 400
        case .lengthRequired: 411
        case .bodyTooLarge: 413
        case .headersTooLarge: 431
        case .unsupportedTransferEncoding: 501
        }
    }
}

/// Parses HTTP/1.1 requests from a byte stream as a pure state machine, like the MQTT decoder: `append` what the
/// socket read, then call `next()` until it returns nil (more bytes needed). Pipelined requests come out one after
/// the other. Bounded: the request line and header fields together at most `maximumHeaderBytes`, a body (with
/// `Content-Length` or chunked) at most `maximumBodyBytes`; an error is final, the connection must close.
public struct HTTPRequestParser: Sendable {
    public let maximumHeaderBytes: Int
    public let maximumBodyBytes: Int
    private var buffer: [UInt8] = []
    /// Where unparsed bytes start in `buffer`.
    private var start = 0
    /// How far the search for the end of the header section got (so a slow client costs linear time).
    private var scanned = 0
    private var state = State.head

    private enum State: Sendable {
        case head
        case body(HTTPRequest, remaining: Int)
        case chunkSize(HTTPRequest)
        case chunkData(HTTPRequest, remaining: Int)
        case chunkDataEnd(HTTPRequest)
        case trailers(HTTPRequest)
        case failed(HTTPRequestError)
    }

    public init(maximumHeaderBytes: Int = 16 * 1024, maximumBodyBytes: Int = 1024 * 1024) {
        self.maximumHeaderBytes = maximumHeaderBytes
        self.maximumBodyBytes = maximumBodyBytes
    }

    /// Bytes received and not yet part of a returned request.
    public var bufferedBytes: Int { buffer.count - start }

    /// Whether a request has begun but is not complete.
    public var isInsideRequest: Bool {
        if case .head = state { return bufferedBytes > 0 }
        return true
    }

    public mutating func append(_ bytes: some Collection<UInt8>) {
        if start > 0 && start >= buffer.count / 2 {
            buffer.removeFirst(start)
            scanned -= start
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next complete request, or nil when more bytes are needed; throws (and keeps throwing) on a bad request.
    public mutating func next() throws(HTTPRequestError) -> HTTPRequest? {
        while true {
            switch state {
            case .failed(let error):
                throw error
            case .head:
                let head: HTTPRequest??
                do {
                    head = try parseHead()
                } catch {
                    return try fail(error)
                }
                guard let request = head else { return nil }
                if let complete = request { return complete }
            case .body(var request, let remaining):
                guard bufferedBytes >= remaining else { return nil }
                state = .head
                request.body = Array(buffer[start..<start + remaining])
                start += remaining
                state = .head
                return request
            case .chunkSize(let request):
                guard let line = takeLine(limit: 1024) else {
                    if bufferedBytes > 1024 { return try fail(.badRequest("chunk size line too long")) }
                    return nil
                }
                // chunk-size = 1*HEXDIG (no sign, no spaces inside), then optional whitespace and extensions.
                var digits = line.prefix { $0 != UInt8(ascii: ";") }
                while let last = digits.last, last == 0x20 || last == 0x09 { digits = digits.dropLast() }
                guard !digits.isEmpty, digits.count <= 8, digits.allSatisfy({ Self.hexValue($0) != nil }),
                      let size = Int(String(decoding: digits, as: UTF8.self), radix: 16) else {
                    return try fail(.badRequest("bad chunk size"))
                }
                if size == 0 {
                    state = .trailers(request)
                } else {
                    guard request.body.count + size <= maximumBodyBytes else { return try fail(.bodyTooLarge) }
                    state = .chunkData(request, remaining: size)
                }
            case .chunkData(var request, let remaining):
                guard bufferedBytes >= remaining else { return nil }
                // The state lets go of the request first, so the body grows in place instead of being copied.
                state = .head
                request.body.append(contentsOf: buffer[start..<start + remaining])
                start += remaining
                state = .chunkDataEnd(request)
            case .chunkDataEnd(let request):
                guard let line = takeLine(limit: 2) else {
                    if bufferedBytes >= 2 { return try fail(.badRequest("chunk data not followed by CRLF")) }
                    return nil
                }
                guard line.isEmpty else { return try fail(.badRequest("chunk data not followed by CRLF")) }
                state = .chunkSize(request)
            case .trailers(let request):
                guard let line = takeLine(limit: maximumHeaderBytes) else {
                    if bufferedBytes > maximumHeaderBytes { return try fail(.headersTooLarge) }
                    return nil
                }
                if line.isEmpty {
                    state = .head
                    return request
                }
            }
        }
    }

    private mutating func fail<T>(_ error: HTTPRequestError) throws(HTTPRequestError) -> T {
        state = .failed(error)
        throw error
    }

    /// The bytes up to the next LF (without CR LF), consumed; nil when no LF within `limit` + 2 bytes yet.
    private mutating func takeLine(limit: Int) -> ArraySlice<UInt8>? {
        let end = min(buffer.count, start + limit + 2)
        guard let newline = buffer[start..<end].firstIndex(of: 0x0A) else { return nil }
        var line = buffer[start..<newline]
        if line.last == 0x0D { line = line.dropLast() }
        start = newline + 1
        return line
    }

    /// Parses the request line and header fields once the empty line has arrived: nil when more bytes are needed;
    /// `.some(request)` for a request without a body; `.some(nil)` when the body follows (state changed).
    private mutating func parseHead() throws(HTTPRequestError) -> HTTPRequest?? {
        // Leading empty lines before a request line are ignored (RFC 9112 §2.2).
        while bufferedBytes >= 1 {
            if buffer[start] == 0x0A {
                start += 1
            } else if bufferedBytes >= 2, buffer[start] == 0x0D, buffer[start + 1] == 0x0A {
                start += 2
            } else {
                break
            }
        }
        scanned = max(scanned, start)
        var end: Int?
        while scanned < buffer.count {
            if buffer[scanned] == 0x0A {
                let previous = scanned - 1
                if previous >= start, buffer[previous] == 0x0A { end = scanned; break }
                if previous - 1 >= start, buffer[previous] == 0x0D, buffer[previous - 1] == 0x0A {
                    end = scanned
                    break
                }
            }
            scanned += 1
        }
        guard let end else {
            if bufferedBytes > maximumHeaderBytes { throw .headersTooLarge }
            return nil
        }
        guard end + 1 - start <= maximumHeaderBytes else { throw .headersTooLarge }
        let head = buffer[start...end]
        start = end + 1
        scanned = start
        var lines = head.split(separator: 0x0A, omittingEmptySubsequences: false).map { line in
            line.last == 0x0D ? line.dropLast() : line
        }
        while lines.last?.isEmpty == true { lines.removeLast() }
        guard let requestLine = lines.first else { throw .badRequest("empty request") }
        var request = try Self.requestLine(requestLine)
        let isHTTP11 = request.keepAlive
        for line in lines.dropFirst() {
            request.headers.append(try Self.field(line))
        }
        // HTTP/1.1 requires exactly one Host field (RFC 9112 §3.2).
        if isHTTP11, request.headers.filter({ $0.name == "host" }).count != 1 {
            throw .badRequest("HTTP/1.1 request without exactly one Host field")
        }
        return try framing(&request)
    }

    /// Decides how the body is framed (RFC 9112 §6): chunked, `Content-Length`, or none.
    private mutating func framing(_ request: inout HTTPRequest) throws(HTTPRequestError) -> HTTPRequest?? {
        let connection = request.header("connection")?.lowercased() ?? ""
        let options = connection.split(separator: ",").map { $0.trimmingSpaces }
        if options.contains("close") { request.keepAlive = false }
        if options.contains("keep-alive") { request.keepAlive = true }
        let encodings = request.headers.filter { $0.name == "transfer-encoding" }
        let lengths = request.headers.filter { $0.name == "content-length" }.map(\.value)
        if !encodings.isEmpty {
            guard lengths.isEmpty else { throw .badRequest("both Transfer-Encoding and Content-Length") }
            let codings = encodings.flatMap { $0.value.lowercased().split(separator: ",").map { $0.trimmingSpaces } }
            guard codings == ["chunked"] else { throw .unsupportedTransferEncoding }
            state = .chunkSize(request)
            return .some(nil)
        }
        if let first = lengths.first {
            let values = Set(lengths.flatMap { $0.split(separator: ",").map { $0.trimmingSpaces } })
            guard values.count == 1, first.utf8.count <= 18, first.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
                  let length = Int(first) else { throw .badRequest("bad Content-Length") }
            guard length <= maximumBodyBytes else { throw .bodyTooLarge }
            if length == 0 { return .some(request) }
            state = .body(request, remaining: length)
            return .some(nil)
        }
        if request.method == "POST" || request.method == "PUT" { throw .lengthRequired }
        return .some(request)
    }

    /// `METHOD SP request-target SP HTTP-version`.
    private static func requestLine(_ line: ArraySlice<UInt8>) throws(HTTPRequestError) -> HTTPRequest {
        let parts = line.split(separator: 0x20, omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, parts[0].allSatisfy(isTokenByte) else {
            throw .badRequest("bad request line")
        }
        let version = String(decoding: parts[2], as: UTF8.self)
        guard version == "HTTP/1.1" || version == "HTTP/1.0" else { throw .badRequest("unsupported version") }
        let target = parts[1]
        guard target.first == UInt8(ascii: "/"), target.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw .badRequest("bad request target")
        }
        let question = target.firstIndex(of: UInt8(ascii: "?")) ?? target.endIndex
        guard let path = percentDecoded(target[target.startIndex..<question], plusIsSpace: false) else {
            throw .badRequest("bad request target")
        }
        var query: [(name: String, value: String)] = []
        if question < target.endIndex {
            for pair in target[(question + 1)...].split(separator: UInt8(ascii: "&")) {
                let equals = pair.firstIndex(of: UInt8(ascii: "=")) ?? pair.endIndex
                guard let name = percentDecoded(pair[pair.startIndex..<equals], plusIsSpace: true),
                      let value = percentDecoded(equals < pair.endIndex ? pair[(equals + 1)...] : [][...],
                                                 plusIsSpace: true) else { throw .badRequest("bad query") }
                query.append((name, value))
            }
        }
        return HTTPRequest(method: String(decoding: parts[0], as: UTF8.self), path: path, query: query, headers: [],
                           body: [], keepAlive: version == "HTTP/1.1")
    }

    /// `field-name ":" OWS field-value OWS`; no whitespace before the colon, no line folding (RFC 9112 §5).
    private static func field(_ line: ArraySlice<UInt8>) throws(HTTPRequestError) -> (name: String, value: String) {
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex,
              line[line.startIndex..<colon].allSatisfy(isTokenByte) else { throw .badRequest("bad header field") }
        let value = line[(colon + 1)...]
        guard value.allSatisfy({ $0 == 0x09 || ($0 >= 0x20 && $0 != 0x7F) }) else {
            throw .badRequest("control character in a header field")
        }
        return (String(decoding: line[line.startIndex..<colon], as: UTF8.self).lowercased(),
                String(decoding: value, as: UTF8.self).trimmingSpaces)
    }

    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"): true
        default: "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }

    /// Percent-decodes; nil for a bad escape or bytes that are not UTF-8.
    static func percentDecoded(_ bytes: ArraySlice<UInt8>, plusIsSpace: Bool) -> String? {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: "%") {
                guard index + 2 < bytes.endIndex, let high = hexValue(bytes[index + 1]),
                      let low = hexValue(bytes[index + 2]) else { return nil }
                out.append(high << 4 | low)
                index += 3
            } else {
                out.append(plusIsSpace && byte == UInt8(ascii: "+") ? 0x20 : byte)
                index += 1
            }
        }
        let text = String(decoding: out, as: UTF8.self)
        // Decoding replaces invalid sequences: a round trip that changes the bytes means they were not UTF-8.
        return text.utf8.elementsEqual(out) ? text : nil
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs (HTTP's optional whitespace).
    var trimmingSpaces: String {
        let scalars = unicodeScalars
        let isSpace: (Unicode.Scalar) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = scalars.firstIndex(where: { !isSpace($0) }),
              let last = scalars.lastIndex(where: { !isSpace($0) }) else { return "" }
        var result = String.UnicodeScalarView()
        result.append(contentsOf: scalars[first...last])
        return String(result)
    }
}
