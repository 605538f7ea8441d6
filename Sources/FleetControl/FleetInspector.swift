import FleetClient
import FleetCoordinator
import FleetStore
import FleetWire
import Foundation

/// The operations behind `fleetctl`'s commands. Inspection reads the coordinator's database directly (SQLite, or
/// the PostgreSQL database its `database.json` names, read-only) when a data directory is
/// given (also while the coordinator is down); everything else goes through the admin protocol.
public struct FleetInspector: Sendable {
    public let target: CoordinatorTarget

    public init(target: CoordinatorTarget) {
        self.target = target
    }

    public func devices() async throws -> [DeviceView] {
        if let store = try await target.localStore() { return try await DeviceView.all(in: store) }
        let (devices, gateways) = try await target.withAdminConnection { connection in
            var devices: [DeviceView] = []
            var gateways: [String: String] = [:]
            var requestID: UInt64 = 1
            while true {
                let reply = try await connection.request(
                    .listDevices(ListDevices(requestID: requestID, offset: devices.count, limit: 200))
                )
                guard case .deviceList(let page) = reply else { throw FleetClientError.unexpected(reply) }
                devices += page.devices.map(DeviceView.init(summary:))
                requestID += 1
                if page.devices.isEmpty || devices.count >= page.total { break }
            }
            var seen = 0
            while true {
                let reply = try await connection.request(
                    .listGateways(ListGateways(requestID: requestID, offset: seen, limit: 1000))
                )
                guard case .gatewayList(let page) = reply else { throw FleetClientError.unexpected(reply) }
                for entry in page.entries { gateways[entry.deviceID] = entry.gatewayID }
                seen += page.entries.count
                requestID += 1
                if page.entries.isEmpty || seen >= page.total { return (devices, gateways) }
            }
        }
        return DeviceView.withGateways(devices, gateways)
    }

    /// The devices, and when read from the data directory of a coordinator that is not running, why it cannot be
    /// reached: statuses are then as of its last write (`statusAsOf`), and a device it last saw online is
    /// `unknown` (no device is connected to a stopped coordinator, but it may be running fine).
    public func deviceList() async throws -> (devices: [DeviceView], unreachable: String?) {
        var devices = try await devices()
        guard let reason = await target.coordinatorUnreachable() else { return (devices, nil) }
        let asOf = devices.compactMap(\.lastSeen).max() ?? "never"
        for index in devices.indices {
            devices[index].statusAsOf = asOf
            if devices[index].status == "online" { devices[index].status = "unknown" }
        }
        return (devices, reason)
    }

    /// The device with this id or name (names as `fleetctl devices` shows them), or a clear error.
    public func resolveDevice(_ idOrName: String, among all: [DeviceView]? = nil) async throws -> DeviceView {
        var list = all ?? []
        if all == nil { list = try await devices() }
        guard let device = list.first(where: { $0.id == idOrName }) ?? list.first(where: { $0.name == idOrName }) else {
            throw ControlError("no device \"\(idOrName)\": `fleetctl devices` lists the ids and names")
        }
        return device
    }

    public func device(id: String) async throws -> DeviceView {
        var device = try await resolveDevice(id, among: try await deviceList().devices)
        if let store = try await target.localStore() {
            device.assignments = try await store.assignments(deviceID: device.id).map {
                DeviceView.AssignmentView(model: $0.model, version: $0.version, variant: $0.variant, reason: $0.reason)
            }
        }
        return device
    }

    /// The newest `limit` events (after `afterSequence` when given), oldest first.
    public func events(deviceID: String?, limit: Int, afterSequence: Int64? = nil) async throws -> [EventView] {
        if let store = try await target.localStore() {
            return try await store.events(deviceID: deviceID, limit: limit, afterSequence: afterSequence).map(
                EventView.init(record:)
            )
        }
        return try await target.withAdminConnection { connection in
            let reply = try await connection.request(
                .listEvents(
                    ListEvents(
                        requestID: 1,
                        deviceID: deviceID ?? "",
                        limit: limit,
                        afterSequence: UInt64(max(0, afterSequence ?? 0))
                    )
                )
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

/// A page of the event log, newest last, and whether older events were left out.
public struct EventPage: Sendable {
    public var events: [EventView]
    public var olderLeftOut: Bool
}

extension FleetInspector {
    /// The newest `limit` events (0: all the coordinator gives), for a device given by id or name, with device
    /// names filled in.
    public func eventLog(device: String?, limit: Int) async throws -> EventPage {
        let all = try await devices()
        var deviceID: String?
        if let device { deviceID = try await resolveDevice(device, among: all).id }
        let wanted = limit > 0 ? limit : Int(Int32.max)
        var events = try await self.events(deviceID: deviceID, limit: wanted == Int(Int32.max) ? wanted : wanted + 1)
        let olderLeftOut = events.count > wanted
        if olderLeftOut { events.removeFirst(events.count - wanted) }
        let names = Dictionary(all.map { ($0.id, $0.name) }) { first, _ in first }
        for index in events.indices { events[index].deviceName = events[index].device.flatMap { names[$0] } }
        return EventPage(events: events, olderLeftOut: olderLeftOut)
    }
}
