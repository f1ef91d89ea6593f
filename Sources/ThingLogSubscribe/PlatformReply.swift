import ThingLogCore

/// The replies the platform publishes to devices after their messages (protocol.md §7), which `subscribe --reply`
/// sends once a message is committed, so firmware written for the platform's SDK runs unchanged against a
/// self-hosted broker. Pure: an entry in, the topic and payload out.
enum PlatformReply {
    /// The reply to `entry`: `report_reply` for a `report` (code 0, or 406 `checkReportData fail` when the configured
    /// data template flags the report: an undeclared property or a value out of its range), `event_reply` for an
    /// `event_post`; nil for anything else, and for rejected messages.
    static func reply(to entry: StoreEntry) -> (topic: String, payload: [UInt8])? {
        guard case .accepted(let accepted) = entry, accepted.parsed.topic.direction == .up else { return nil }
        let parsed = accepted.parsed
        let topic = parsed.topic
        let token = parsed.clientToken.map(JSONWriter.quoted) ?? "null"
        switch parsed.method {
        case "report"?:
            let flagged = parsed.outOfRangeCount > 0 || parsed.unknownPropertyCount > 0
            let body = flagged ? "\"code\":406,\"status\":\"checkReportData fail\""
                               : "\"code\":0,\"status\":\"success\""
            return ("$thing/down/property/\(topic.product)/\(topic.device)",
                    Array("{\"method\":\"report_reply\",\"clientToken\":\(token),\(body)}".utf8))
        case "event_post"?:
            return ("$thing/down/event/\(topic.product)/\(topic.device)",
                    Array("{\"method\":\"event_reply\",\"clientToken\":\(token),\"code\":0,\"status\":\"\",\"data\":{}}"
                        .utf8))
        default:
            return nil
        }
    }
}
