import FleetClient
import FleetStore
import FleetWire
import Foundation

/// The operations behind `fleetctl`'s commands. Inspection reads SQLite directly when a data directory is
/// given (also while the coordinator is down); everything else goes through the admin protocol.
public struct FleetInspector: Sendable {
    public let target: CoordinatorTarget

    public init(target: CoordinatorTarget) {
        self.target = target
    }

    public func devices() async throws -> [DeviceView] {
        if let store = try target.localStore() {
            return try await store.devices().map(DeviceView.init(record:))
        }
        return try await target.withAdminConnection { connection in
            var devices: [DeviceView] = []
            var requestID: UInt64 = 1
            while true {
                let reply = try await connection.request(
                    .listDevices(ListDevices(requestID: requestID, offset: devices.count, limit: 200))
                )
                guard case .deviceList(let page) = reply else { throw FleetClientError.unexpected(reply) }
                devices += page.devices.map(DeviceView.init(summary:))
                if page.devices.isEmpty || devices.count >= page.total { return devices }
                requestID += 1
            }
        }
    }

    public func device(id: String) async throws -> DeviceView {
        let all = try await devices()
        guard var device = all.first(where: { $0.id == id || $0.name == id }) else {
            throw ControlError("no device \"\(id)\": `fleetctl devices` lists the ids and names")
        }
        if let store = try target.localStore() {
            device.assignments = try await store.assignments(deviceID: device.id).map {
                DeviceView.AssignmentView(model: $0.model, version: $0.version, variant: $0.variant, reason: $0.reason)
            }
        }
        return device
    }

    public func events(deviceID: String?, limit: Int) async throws -> [EventView] {
        if let store = try target.localStore() {
            return try await store.events(deviceID: deviceID, limit: limit, afterSequence: nil).map(
                EventView.init(record:)
            )
        }
        return try await target.withAdminConnection { connection in
            let reply = try await connection.request(
                .listEvents(ListEvents(requestID: 1, deviceID: deviceID ?? "", limit: limit, afterSequence: 0))
            )
            guard case .eventList(let list) = reply else { throw FleetClientError.unexpected(reply) }
            return list.events.map(EventView.init(summary:))
        }
    }

    public func createToken(uses: Int, expiresIn: Duration?, labels: [String: String]) async throws -> TokenView {
        let seconds = expiresIn.map { Int($0.components.seconds) } ?? 0
        return try await target.withAdminConnection { connection in
            let reply = try await connection.request(
                .createToken(CreateToken(requestID: 1, uses: uses, expiresInSeconds: seconds, labels: labels))
            )
            guard case .tokenCreated(let created) = reply else { throw FleetClientError.unexpected(reply) }
            return TokenView(
                token: created.token,
                id: created.tokenID,
                uses: created.uses,
                expiresAt: ISO8601.string(milliseconds: created.expiresAtMilliseconds)
            )
        }
    }
}
