// fuzz target `config`: a configuration file's bytes through ConfigurationLoader.load, the path `--config` takes
// (parse, merge over the built-in defaults, decode). The file is written to a scratch directory holding a copy of
// the example template at `templates/CS0SLTKSYA.json`, so the default template path resolves. Inputs naming a
// template by an absolute path or through `..` are skipped: they would read arbitrary files (`/dev/zero`). The
// document is also read as a data template, and its strings as durations, time arguments and POSIX TZ rules; the
// raw bytes as a TZif zone file.
@testable import ThingLogCore
@testable import ThingLogStore
@testable import ThingLogIngest
import Foundation

nonisolated(unsafe) private var scratch: ScratchFile?
private let utc = ZoneInfo.utc
private let shanghai = ZoneInfo(identifier: "Asia/Shanghai") ?? utc

private func strings(in value: JSONValue, into output: inout [String]) {
    switch value {
    case .string(let text): output.append(text)
    case .array(let elements): for element in elements { strings(in: element, into: &output) }
    case .object(let members):
        for member in members {
            output.append(member.key)
            strings(in: member.value, into: &output)
        }
    default: break
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafeRawPointer, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data.assumingMemoryBound(to: UInt8.self), count: size)
    let file = scratch ?? {
        let file = ScratchFile(name: "thinglog.json")
        if let path = fuzzTemplatePath, let bytes = readFile(path) {
            file.addSibling("templates/CS0SLTKSYA.json", bytes: bytes)
        }
        return file
    }()
    scratch = file

    if let zone = ZoneInfo(identifier: "fuzz", tzif: Array(bytes)) {
        for time: Int64 in [.min, -1, 0, 1_790_000_000, 4_102_444_800, .max] { _ = zone.offsetSeconds(at: time) }
    }
    let document = try? ConfigurationLoader.parse(String(decoding: bytes, as: UTF8.self), source: "fuzz")
    if let members = document?.members {
        for member in members where member.key == "template" {
            guard let path = member.value.stringValue else { continue }
            if path.hasPrefix("/") || path.contains("..") { return -1 }
        }
    }
    file.write(bytes)
    _ = try? ConfigurationLoader.load(path: file.path, currentDirectory: file.directory)

    guard let document else { return 0 }
    _ = try? DataTemplate(json: document)
    var texts: [String] = []
    strings(in: document, into: &texts)
    for text in texts.prefix(64) {
        _ = DurationText.milliseconds(text)
        _ = Timestamp.parseISO8601(text)
        _ = Timestamp.parseArgument(text, timeZone: utc)
        _ = Timestamp.parseArgument(text, timeZone: shanghai)
        if let rule = PosixRule(text) {
            for time: Int64 in [-4_000_000_000_000, 0, 1_790_000_000, 4_000_000_000_000] { _ = rule.offset(at: time) }
        }
    }
    return 0
}
