import FleetStore
import FleetTrust
import FleetWire
import Foundation

/// A device as `fleetctl devices --json` prints it, and `GET /api/v1/devices` serves it (one encoder for both). Field names are a contract with users' scripts.
public struct DeviceView: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    /// `online` or `offline`.
    public var status: String
    /// ISO 8601, or null if never seen.
    public var lastSeen: String?
    public var labels: [String: String]
    public var capabilities: [String: String]
    public var agentVersion: String
    public var enrolledAt: String
    public var installedModels: [ModelView]
    /// What the device should run of each model, and why (filled by `device show` on the coordinator's host).
    public var assignments: [AssignmentView]?
    /// The `ram`, `storage` and `cores` capabilities as numbers (`capabilities` keeps the strings as reported).
    public var ramBytes: UInt64? = nil
    public var storageBytes: UInt64? = nil
    public var cores: Int? = nil
    /// When the coordinator is not running: how old `status` and `lastSeen` are (ISO 8601, the last time the
    /// coordinator wrote presence). Nil while it runs.
    public var statusAsOf: String? = nil
    /// For a leaf behind a gateway (`fleet-agent --leaf-listen` or `--leaf-serial`): the gateway's device id, as the gateway proved it
    /// on the leaf's last welcomed connection. Absent for a device that connects directly.
    public var gateway: String? = nil
    /// The name of the device `gateway` names (absent when that device is no longer listed).
    public var gatewayName: String? = nil

    /// The gateway as people read it: its name, or its id when the gateway is gone.
    package var gatewayLabel: String? { gateway.map { gatewayName ?? $0 } }

    public struct AssignmentView: Codable, Sendable, Equatable {
        public var model: String
        public var version: Int?
        public var variant: String?
        public var reason: String

        package init(model: String, version: Int?, variant: String?, reason: String) {
            self.model = model
            self.version = version
            self.variant = variant
            self.reason = reason
        }
    }

    public struct ModelView: Codable, Sendable, Equatable {
        public var name: String
        public var version: Int
        public var variant: String
        public var sha256: String
    }
}

/// An event as `fleetctl events --json` prints it, and `GET /api/v1/events` serves it.
public struct EventView: Codable, Sendable, Equatable {
    public var sequence: Int64
    public var at: String
    public var device: String?
    public var kind: String
    public var detail: String
    /// The device's name, when the event concerns a device.
    public var deviceName: String? = nil
}

package enum ISO8601 {
    package static func string(_ date: Date) -> String {
        date.formatted(
            .iso8601.year().month().day().time(includingFractionalSeconds: false).timeZone(separator: .omitted)
        )
    }

    package static func string(milliseconds: UInt64) -> String? {
        milliseconds == 0 ? nil : string(Date(timeIntervalSince1970: Double(milliseconds) / 1000))
    }
}

extension DeviceView {
    package init(record: DeviceRecord) {
        self.init(
            id: record.id,
            name: record.name,
            status: record.status.rawValue,
            lastSeen: record.lastSeen.map(ISO8601.string),
            labels: record.labels,
            capabilities: record.capabilities,
            agentVersion: record.agentVersion,
            enrolledAt: ISO8601.string(record.enrolledAt),
            installedModels: record.installedModels.map {
                ModelView(name: $0.name, version: $0.version, variant: $0.variant, sha256: hex($0.sha256))
            },
            assignments: nil
        )
        deriveTypedCapabilities()
    }

    package init(summary: DeviceSummary) {
        self.init(
            id: summary.id,
            name: summary.name,
            status: summary.online ? "online" : "offline",
            lastSeen: ISO8601.string(milliseconds: summary.lastSeenMilliseconds),
            labels: summary.labels,
            capabilities: summary.capabilities,
            agentVersion: summary.software,
            enrolledAt: ISO8601.string(milliseconds: summary.enrolledAtMilliseconds) ?? "",
            installedModels: summary.installedModels.map {
                ModelView(name: $0.name, version: $0.version, variant: $0.variant, sha256: hex($0.sha256))
            },
            assignments: nil
        )
        deriveTypedCapabilities()
    }

    /// Every device the store holds (ordered by name, then id), with the gateway that carries each leaf: what
    /// `fleetctl devices --json` prints on the coordinator's host and `GET /api/v1/devices` serves.
    package static func all(in store: CoordinatorStore) async throws -> [DeviceView] {
        var gateways: [String: String] = [:]
        for pair in try await store.deviceGateways() { gateways[pair.deviceID] = pair.gatewayID }
        return withGateways(try await store.devices().map(DeviceView.init(record:)), gateways)
    }

    /// The device whose id is `idOrName`, else the one of that name (as `fleetctl device show` resolves it); nil
    /// when none, or for a value longer than any id or name.
    package static func named(_ idOrName: String, in store: CoordinatorStore) async throws -> DeviceView? {
        guard idOrName.utf8.count <= maximumIdOrNameLength else { return nil }
        // By id, one row (the console's device page for a large fleet); by name, the whole list.
        guard let record = try await store.device(id: idOrName) else {
            return try await all(in: store).first(where: { $0.name == idOrName })
        }
        var view = DeviceView(record: record)
        view.gateway = try await store.deviceGateways().first(where: { $0.deviceID == record.id })?.gatewayID
        if let gateway = view.gateway { view.gatewayName = try await store.device(id: gateway)?.name }
        return view
    }

    /// Longer than any device id or name the coordinator accepts.
    package static let maximumIdOrNameLength = 128

    /// `devices` with `gateway` (from `gateways`, device id to gateway id) and `gatewayName` filled in.
    package static func withGateways(_ devices: [DeviceView], _ gateways: [String: String]) -> [DeviceView] {
        let names = Dictionary(devices.map { ($0.id, $0.name) }, uniquingKeysWith: { first, _ in first })
        return devices.map { device in
            var device = device
            device.gateway = gateways[device.id]
            device.gatewayName = device.gateway.flatMap { names[$0] }
            return device
        }
    }

    private mutating func deriveTypedCapabilities() {
        ramBytes = capabilities["ram"].flatMap(UInt64.init)
        storageBytes = capabilities["storage"].flatMap(UInt64.init)
        cores = capabilities["cores"].flatMap(Int.init)
    }
}

extension EventView {
    package init(record: EventRecord) {
        self.init(
            sequence: record.sequence,
            at: ISO8601.string(record.at),
            device: record.deviceID,
            kind: record.kind,
            detail: record.detail
        )
    }

    package init(summary: EventSummary) {
        self.init(
            sequence: Int64(clamping: summary.sequence),
            at: ISO8601.string(milliseconds: summary.atMilliseconds) ?? "",
            device: summary.deviceID.isEmpty ? nil : summary.deviceID,
            kind: summary.kind,
            detail: summary.detail
        )
    }
}

private func hex(_ bytes: [UInt8]) -> String { Digest.hex(bytes) }
