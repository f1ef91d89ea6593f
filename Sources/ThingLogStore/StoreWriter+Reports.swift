import ThingLogCore

/// How one accepted message becomes rows: its time, its readings, its raw report and events, or a quarantine entry.
extension StoreWriter {
    func store(_ message: IncomingMessage, _ parsed: ParsedMessage) throws {
        let device = try deviceState(of: message, parsed)
        var flags = Self.flags(of: message, parsed)
        // SPEC §5 whole-message idempotence, for the messages whose readings cannot reveal it.
        if flags & Flag.indexed != 0, try isArchived(message, deviceID: device.id) {
            transactionSummary.duplicateReports += 1
            transactionSummary.duplicateReadings += parsed.readings.count
            return
        }
        guard let ts = try reportTime(of: message, parsed, device: device) else { return }

        let seriesIDs = try seriesIDs(for: parsed, device: device)
        if parsed.invalidPropertyIDCount > 0 {
            transactionSummary.dropped[.badProperty, default: 0] += parsed.invalidPropertyIDCount
        }
        var kept: [(seriesID: Int64, value: Double)] = []
        kept.reserveCapacity(seriesIDs.count)
        for (index, id) in seriesIDs.enumerated() {
            if let id { kept.append((id, parsed.readings[index].value)) }
        }
        if kept.isEmpty, !parsed.readings.isEmpty {
            // Every reading was left out by a limit: only the raw archive can tell a second copy of this report.
            flags |= Flag.noReadings
            if try isArchived(message, deviceID: device.id) {
                transactionSummary.duplicateReports += 1
                return
            }
        }
        let added = try insertFrames(kept, at: ts, device: device)
        transactionSummary.readings += added
        transactionSummary.duplicateReadings += kept.count - added
        // A device-timed report all of whose readings are stored already is the same report again: a redelivery,
        // or a recording ingested twice. A live report without the DUP flag is kept: a device may repeat itself.
        if added == 0, !kept.isEmpty, flags & Flag.indexed == 0,
           message.origin != .live || message.isRedelivery {
            transactionSummary.duplicateReports += 1
            return
        }
        try insertReport(message, parsed, device: device, ts: ts, flags: flags)
        transactionSummary.reports += 1
        transactionSummary.outOfRangeReadings += parsed.outOfRangeCount
        transactionSummary.unknownPropertyReadings += parsed.unknownPropertyCount
        if !parsed.events.isEmpty {
            try reportRows.flush()
            let reportID = database.lastInsertRowID
            let insertEvent = try database.cachedStatement(
                "INSERT INTO events(report_id, device_id, ts, event_id, type, params) VALUES (?, ?, ?, ?, ?, ?)")
            for event in parsed.events {
                try insertEvent.execute([.integer(reportID), .integer(device.id), .integer(event.timestamp ?? ts),
                                         .text(event.eventID), event.type.map(SQLiteValue.text) ?? .null,
                                         .text(event.params)])
            }
        }
    }

    /// The `reports.flags` bits a message starts with.
    static func flags(of message: IncomingMessage, _ parsed: ParsedMessage) -> Int64 {
        var flags: Int64 = 0
        if parsed.isClockSkewed { flags |= Flag.clockSkew }
        if parsed.outOfRangeCount > 0 { flags |= Flag.outOfRange }
        if parsed.unknownPropertyCount > 0 { flags |= Flag.unknownProperty }
        if message.isRedelivery { flags |= Flag.redelivered }
        if parsed.readings.isEmpty { flags |= Flag.noReadings }
        if parsed.deviceTimestamp == nil { flags |= Flag.receiveTime }
        return flags
    }

    /// The report's ts (SPEC §5): the device's timestamp; for a `report` without one the receive time, or the next
    /// free millisecond of the device's receive-timed reports; nil when none is free within 1 s (then quarantined
    /// `too_fast`).
    private func reportTime(of message: IncomingMessage, _ parsed: ParsedMessage,
                            device: DeviceState) throws -> Int64? {
        if let deviceTimestamp = parsed.deviceTimestamp { return deviceTimestamp }
        guard parsed.method == "report" else { return message.receivedAt }
        guard let free = try freeMillisecond(from: message.receivedAt, device: device) else {
            try quarantine(Rejection(reason: .tooFast, detail: "no free millisecond within 1 s of the receive time "
                                     + "(too many reports without a timestamp)", topic: message.topic,
                                     receivedAt: message.receivedAt, bytes: message.payload))
            return nil
        }
        device.lastReceiveTS = max(device.lastReceiveTS ?? free, free)
        device.slots.take(free)
        device.isDirty = true
        return free
    }

    /// The ts for a receive-timed report received at `receivedAt`: that millisecond, or the next one that no other
    /// receive-timed report of the device holds, at most `ReceiveTimeSlots.slots` − 1 later; nil when all are taken.
    private func freeMillisecond(from receivedAt: Int64, device: DeviceState) throws -> Int64? {
        guard let last = device.lastReceiveTS, receivedAt <= last, let reportMethod = reportMethodID else {
            return receivedAt
        }
        if receivedAt >= device.slots.knownFrom { return device.slots.firstFree(from: receivedAt) }
        try reportRows.flush()
        findReceiveTimed.rewind()
        try findReceiveTimed.bind(device.id, at: 1)
        try findReceiveTimed.bind(receivedAt &- ReceiveTimeSlots.slots, at: 2)
        try findReceiveTimed.bind(receivedAt &+ ReceiveTimeSlots.slots, at: 3)
        try findReceiveTimed.bind(reportMethod, at: 4)
        defer { findReceiveTimed.rewind() }
        var taken = Set<Int64>()
        while try findReceiveTimed.step() { taken.insert(findReceiveTimed.int64(0)) }
        return (0..<ReceiveTimeSlots.slots).lazy.map { receivedAt &+ $0 }.first { !taken.contains($0) }
    }

    /// Stores a device's readings (series id, value) at `ts` as frames of up to `FrameLayouts.width` values; returns
    /// how many were new. A reading of a series the store already holds at `ts` is a duplicate (SPEC §5); the store
    /// is asked only when `ts` is not after the device's newest frame.
    private func insertFrames(_ readings: [(seriesID: Int64, value: Double)], at ts: Int64,
                              device: DeviceState) throws -> Int {
        var fresh = readings
        if ts <= device.newestFrameTS {
            let stored = try storedSeries(deviceID: device.id, at: ts)
            if !stored.isEmpty { fresh = readings.filter { !stored.contains($0.seriesID) } }
        }
        // One layout per set of series, whatever order a device's JSON keys come in (the migration sorts too).
        if !fresh.indices.dropFirst().allSatisfy({ fresh[$0 - 1].seriesID < fresh[$0].seriesID }) {
            fresh.sort { $0.seriesID < $1.seriesID }
        }
        var offset = 0
        while offset < fresh.count {
            let end = min(offset + FrameLayouts.width, fresh.count)
            let series = fresh[offset..<end].lazy.map(\.seriesID)
            let layout: Int64
            if let last = device.lastLayout, last.series.elementsEqual(series) {
                layout = last.id
            } else {
                let columns = Array(series)
                layout = try layouts.id(deviceID: device.id, series: columns)
                device.lastLayout = (columns, layout)
            }
            frameRows.add(deviceID: device.id, ts: ts, layoutID: layout, readings: fresh[offset..<end])
            offset = end
        }
        if ts > device.newestFrameTS, !fresh.isEmpty { device.newestFrameTS = ts }
        return fresh.count
    }

    /// The series of which the store holds a reading of the device at `ts`.
    private func storedSeries(deviceID: Int64, at ts: Int64) throws -> Set<Int64> {
        try frameRows.flush()
        findStoredSeries.rewind()
        defer { findStoredSeries.rewind() }
        try findStoredSeries.bind(deviceID, at: 1)
        try findStoredSeries.bind(ts, at: 2)
        var stored = Set<Int64>()
        while try findStoredSeries.step() { stored.insert(findStoredSeries.int64(0)) }
        return stored
    }

    /// Archives the raw report (SPEC §5 `reports`): its payload as shape and numbers (which give it back byte for
    /// byte), or raw when it has no shape.
    private func insertReport(_ message: IncomingMessage, _ parsed: ParsedMessage, device: DeviceState, ts: Int64,
                              flags: Int64) throws {
        // Split by the parser when it came through `ReportParser.entry`, else here.
        let payloadShape = parsed.payloadShape
            ?? PayloadShape(payload: message.payload, receivedAt: message.receivedAt)
        let key = ReportShapes.Key(deviceID: device.id, topicID: try topicID(message.topic, of: device),
                                   methodID: methodID(parsed.method), shape: payloadShape?.shape)
        let shape: ReportShapes.Placement
        if let last = device.lastShape, last.key == key {
            shape = last.placement
        } else {
            shape = try shapes.id(for: key)
            // Kept per device only when small: a fleet of large shapes would otherwise hold one each, unbounded.
            device.lastShape = (key.shape?.count ?? 0) <= ReportShapes.largestKeptPerDevice ? (key, shape) : nil
        }
        let numbers = shape.isShaped ? payloadShape?.numbers : nil
        try reportRows.add(ReportRows.Row(
            deviceID: device.id, receivedAt: message.receivedAt, tsOffset: ts &- message.receivedAt,
            identifier: message.packetID.map(Int64.init) ?? message.sequence, flags: flags, shapeID: shape.id,
            content: numbers ?? message.payload, isShaped: numbers != nil))
    }

    /// Whether the raw archive already holds this message (SPEC §5): a recorded message with the same device,
    /// receive time and payload (the same file ingested twice), or a DUP-flagged MQTT redelivery matching a report
    /// of the last 10 minutes by packet id, device and payload, or a forwarded envelope matching one of the last 10
    /// minutes by `seq`, device and payload (the platform resending what it had no 200 for).
    func isArchived(_ message: IncomingMessage, deviceID: Int64) throws -> Bool {
        let statement: Statement
        switch message.origin {
        case .recorded:
            statement = findRecorded
            statement.rewind()
            try statement.bind(deviceID, at: 1)
            try statement.bind(message.receivedAt, at: 2)
            try message.payload.withUnsafeBufferPointer { try statement.bindText($0, at: 3) }
        case .live, .forwarded:
            let identifier = message.origin == .forwarded ? message.sequence
                : message.isRedelivery ? message.packetID.map(Int64.init) : nil
            guard let identifier else { return false }
            statement = findRedelivered
            statement.rewind()
            try statement.bind(deviceID, at: 1)
            try statement.bind(message.receivedAt - Self.redeliveryWindow, at: 2)
            try statement.bind(identifier, at: 3)
            try message.payload.withUnsafeBufferPointer { try statement.bindText($0, at: 4) }
        }
        defer { statement.rewind() }
        try reportRows.flush()   // (only when asking: a live report without the DUP flag is never looked up)
        return try statement.step()
    }

    func quarantine(_ rejection: Rejection) throws {
        let insert = try database.cachedStatement(
            "INSERT INTO rejects(received_at, topic, reason, detail, size, bytes) VALUES (?, ?, ?, ?, ?, ?)")
        let topic = rejection.topic.map {
            String(decoding: $0.utf8.prefix(Self.maximumRejectTopicBytes), as: UTF8.self)
        }
        try insert.execute([.integer(rejection.receivedAt), topic.map(SQLiteValue.text) ?? .null,
                            .text(rejection.reason.rawValue), .text(String(rejection.detail.prefix(500))),
                            .integer(Int64(rejection.size)), .blob(rejection.bytes)])
        transactionSummary.rejects[rejection.reason, default: 0] += 1
    }
}
