import ThingLogCore

/// The raw archive as it was received (SPEC §5): every stored report's topic, receive time and payload bytes.
extension StoreReader {
    /// Reports received in [from, to) (of the devices given; nil: all), in the order they were stored, each with its
    /// topic, receive time and payload rebuilt byte for byte from its shape and numbers.
    public func archivedReports(devices: [Int64]?, from: Int64, to: Int64,
                                _ body: (_ topic: String, _ receivedAt: Int64, _ payload: String) throws -> Void)
    throws {
        let selection = Selection(devices: devices).conditions(deviceID: "r.device_id", metric: "")
        let statement = try database.prepare("""
            SELECT t.topic, r.received_at, thinglog_payload(s.shape, r.content, r.received_at)
            FROM reports r JOIN report_shapes s ON s.id = r.shape_id JOIN topics t ON t.id = s.topic_id
            WHERE r.received_at >= ? AND r.received_at < ? AND \(selection.sql) ORDER BY r.id
            """)
        try statement.bind([.integer(from), .integer(to)] + selection.values)
        try statement.forEachRow { row in try body(row.string(0), row.int64(1), row.string(2)) }
    }
}
