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
