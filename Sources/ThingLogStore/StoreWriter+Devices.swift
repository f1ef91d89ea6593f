import ThingLogCore

/// The writer's devices: each one's row and what the writer keeps of it between reports.
extension StoreWriter {
    /// A device by its exact names.
    struct DeviceKey: Hashable {
        var product: ExactName
        var name: ExactName
    }

    /// What the writer knows of one device between commits: one object per device, changed in place (a report
    /// looks its device up once).
    final class DeviceState {
        let id: Int64
        /// The latest ts given to one of its receive-timed reports: a later receive time is always free.
        var lastReceiveTS: Int64?
        /// The receive-timed milliseconds it holds near the newest ones.
        var slots: ReceiveTimeSlots
        var isDirty = false
        var seriesCount: Int
        /// The newest ts of its stored frames (`Int64.min`: none): a report after it cannot repeat a stored reading.
        var newestFrameTS: Int64
        /// The metric names of the device's previous report and their series ids (nil: readings left out): devices
        /// repeat one layout, so this spares a dictionary lookup per reading.
        var lastMetrics: [String] = []
        var lastSeriesIDs: [Int64?] = []
        /// The parser's identity of those metrics, when it gave one.
        var lastMetricsIdentity: MetricsIdentity?
        /// The layout of the device's last frame and its id, and the shape row of its last report: devices repeat one
        /// of each, so this spares hashing a key per report (`FrameLayouts` and `ReportShapes` are asked on a change).
        var lastLayout: (series: [Int64], id: Int64)?
        var lastShape: (key: ReportShapes.Key, placement: ReportShapes.Placement)?
        /// The topic of the device's previous report and its id: devices repeat one topic, so this spares hashing it.
        var lastTopic: String?
        var lastTopicID: Int64 = 0
        /// The address of that topic's bytes (`storageAddress(of:)`; 0: none): the same String again is known by it,
        /// without a copy of the String (whose reference count the parsing thread writes too).
        var lastTopicAddress: UInt = 0

        init(id: Int64, lastReceiveTS: Int64?, seriesCount: Int, newestFrameTS: Int64) {
            self.id = id
            self.lastReceiveTS = lastReceiveTS
            slots = ReceiveTimeSlots(last: lastReceiveTS)
            self.seriesCount = seriesCount
            self.newestFrameTS = newestFrameTS
        }
    }

    /// The state of the device a message came from. A topic that comes as the same String as before (the MQTT
    /// decoder hands out one String per topic) finds it by that String's storage, without hashing names.
    func deviceState(of message: IncomingMessage, _ parsed: ParsedMessage) throws -> DeviceState {
        let storage = storageAddress(of: message.topic)
        let slot = storage.map { Int(truncatingIfNeeded: ($0 >> 4) % UInt(Self.topicSlots)) }
        if let storage, let slot, let known = devicesByTopic.device(at: slot, address: storage) { return known }
        let device = try deviceState(DeviceKey(product: ExactName(parsed.topic.product),
                                               name: ExactName(parsed.topic.device)))
        if let storage, let slot { devicesByTopic.keep(message.topic, address: storage, device: device, at: slot) }
        return device
    }

    /// The id of `topic`, the topic of a report of `device`.
    func topicID(_ topic: String, of device: DeviceState) throws -> Int64 {
        let address = storageAddress(of: topic)
        if let address, address == device.lastTopicAddress { return device.lastTopicID }
        if address == nil, let last = device.lastTopic, hasSameBytes(last, topic) { return device.lastTopicID }
        let id = try topicID(topic)
        device.lastTopic = topic
        device.lastTopicID = id
        device.lastTopicAddress = address ?? 0
        return id
    }

    /// Slots of `devicesByTopic`.
    static let topicSlots = 256

    /// Topic Strings' devices, known by the address of each String's bytes; the String is kept with it, so no other
    /// String can have its bytes there: two with one address are one String, so one topic, so one device. The
    /// addresses are compared apart from the Strings, so a lookup does not copy one.
    struct DevicesByTopic {
        private var addresses = [UInt](repeating: 0, count: StoreWriter.topicSlots)
        private var devices = [DeviceState?](repeating: nil, count: StoreWriter.topicSlots)
        private var topics = [String?](repeating: nil, count: StoreWriter.topicSlots)

        func device(at slot: Int, address: UInt) -> DeviceState? {
            addresses[slot] == address ? devices[slot] : nil
        }

        mutating func keep(_ topic: String, address: UInt, device: DeviceState, at slot: Int) {
            addresses[slot] = address
            devices[slot] = device
            topics[slot] = topic
        }
    }

    /// The state of the device `key`, read from the store (or inserted) when the writer does not hold it.
    func deviceState(_ key: DeviceKey) throws -> DeviceState {
        if let state = devices[key] { return state }
        findDevice.rewind()
        try findDevice.bind(.text(key.product.text), at: 1)
        try findDevice.bind(.text(key.name.text), at: 2)
        let state: DeviceState
        if try findDevice.step() {
            state = DeviceState(id: findDevice.int64(0),
                                lastReceiveTS: findDevice.isNull(1) ? nil : findDevice.int64(1),
                                seriesCount: Int(findDevice.int64(2)),
                                newestFrameTS: findDevice.isNull(3) ? .min : findDevice.int64(3))
            findDevice.rewind()
        } else {
            findDevice.rewind()
            try database.cachedStatement("INSERT INTO devices(product, name) VALUES (?, ?)")
                .execute([.text(key.product.text), .text(key.name.text)])
            state = DeviceState(id: database.lastInsertRowID, lastReceiveTS: nil, seriesCount: 0, newestFrameTS: .min)
        }
        devices[key] = state
        return state
    }
}
