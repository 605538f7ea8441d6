import FleetWire

/// A feature of the coordinator (federated learning, observability) that answers some device messages.
/// The connection handler runs it off the event loop and writes back what it returns (nil: no answer).
protocol DeviceMessageHandler: Sendable {
    func handle(_ message: Message, from deviceID: String) async -> Message?
}

/// A feature's administration requests (from `fleetctl`).
protocol AdminMessageHandler: Sendable {
    /// Returns nil when the message is not this feature's.
    func handleAdmin(_ message: Message, frameBudget: Int) async -> Message?
}

/// The coordinator's feature services, each answering its own messages.
struct FeatureHandlers: Sendable {
    var device: [any DeviceMessageHandler] = []
    var admin: [any AdminMessageHandler] = []
    /// Each device's requests in arrival order (a revocation is neither overtaken by a batch sent after it nor
    /// overtakes one sent before it).
    let order = DeviceRequestQueues()

    /// Hands `message` to the features once the device's earlier requests are done; call it as frames arrive.
    func enqueue(_ message: Message, from deviceID: String) -> Task<Message?, Never> {
        order.enqueue(deviceID) { await handle(message, from: deviceID) }
    }

    func handle(_ message: Message, from deviceID: String) async -> Message? {
        for handler in device {
            if let reply = await handler.handle(message, from: deviceID) { return reply }
        }
        return nil
    }

    func handleAdmin(_ message: Message, frameBudget: Int) async -> Message? {
        for handler in admin {
            if let reply = await handler.handleAdmin(message, frameBudget: frameBudget) { return reply }
        }
        return nil
    }
}
