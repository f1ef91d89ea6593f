// fuzz target `http`: the bytes an HTTP client sends, through HTTPRequestParser (what `receive` reads).
// Oracles: the parser yields the same requests (and the same error) whether the bytes arrive whole, one at a time
// or in uneven pieces; a request's body never exceeds the limit; an error maps to a status the server sends.
@testable import HTTP
import Glibc

func check(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition {
        let text = "fuzz check failed: \(message())\n"
        _ = text.withCString { write(2, $0, strlen($0)) }
        abort()
    }
}

let maximumBody = 256

/// Feeds `bytes` in pieces ending at `cuts`; returns the requests and the error that ended the stream.
func parse(_ bytes: UnsafeBufferPointer<UInt8>, cuts: [Int]) -> (requests: [HTTPRequest], error: HTTPRequestError?) {
    var parser = HTTPRequestParser(maximumHeaderBytes: 512, maximumBodyBytes: maximumBody)
    var requests: [HTTPRequest] = []
    var start = 0
    for cut in cuts + [bytes.count] where cut >= start {
        parser.append(UnsafeBufferPointer(rebasing: bytes[start..<cut]))
        start = cut
        do {
            while let request = try parser.next() { requests.append(request) }
        } catch {
            return (requests, error)
        }
    }
    return (requests, nil)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafeRawPointer, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data.assumingMemoryBound(to: UInt8.self), count: size)
    let whole = parse(bytes, cuts: [])
    for request in whole.requests { check(request.body.count <= maximumBody, "a body over the limit came through") }
    if let error = whole.error { check([400, 411, 413, 431, 501].contains(error.status), "status \(error.status)") }
    let seed = bytes.reduce(UInt64(size)) { $0 &* 31 &+ UInt64($1) }
    let uneven = stride(from: 0, to: size, by: 1).filter { (UInt64($0) &* 2_654_435_761 ^ seed) % 7 == 0 }
    for cuts in [Array(0..<size), uneven] {
        let pieces = parse(bytes, cuts: cuts)
        check(pieces.requests == whole.requests, "requests differ when split")
        // An error found whole may be found later in pieces only as an earlier, different error: equal here.
        check(pieces.error == whole.error, "errors differ when split: \(String(describing: pieces.error)) vs "
              + "\(String(describing: whole.error))")
    }
    return 0
}
