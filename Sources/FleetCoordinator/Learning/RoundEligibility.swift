import FleetStore
import Foundation

/// Which devices can take part in a round, and why each of the others cannot: offline, no training consent,
/// or not running the round's base (yet). `round start` refuses a round that cannot reach `--min-clients`
/// with this breakdown, and a round that fails for want of devices records it.
struct RoundEligibility {
    /// Online, connected, training consent, running the base (or its region's variant): can train now.
    var eligible: [DeviceRecord] = []
    /// Online, connected, training consent, but running another version: may become eligible once it
    /// installs the base.
    var updating: [DeviceRecord] = []
    /// Offline or not connected (with training consent, when `offlineConsent` was asked for): may come back
    /// before the deadline (an agent busy installing or training misses heartbeats for a while).
    var offline: [DeviceRecord] = []
    var withoutConsent: [DeviceRecord] = []

    /// `offlineConsent`: also check the consent of offline devices (at `round start`), so that `possible`
    /// counts only devices that could take part if they came back. `elsewhere`: devices online on another
    /// coordinator of the fleet count as online (their tasks and updates go through the database).
    static func assess(
        bases: RoundBases,
        store: CoordinatorStore,
        connections: ConnectionRegistry,
        presence: PresenceTracker,
        offlineConsent: Bool = false,
        elsewhere: Bool = false
    ) async throws -> RoundEligibility {
        let connected = Set(connections.connectedDeviceIDs)
        let now = Date()
        let trainable = bases.trainableSHA256s
        var result = RoundEligibility()
        for device in try await store.devices() {
            let here = connected.contains(device.id) && presence.isOnline(device.id)
            let online = here || (elsewhere && !connected.contains(device.id) && device.status == .online)
            if !online && !offlineConsent {
                result.offline.append(device)
                continue
            }
            // The coordinator's own verified copy of the owner's consent: nothing is granted by default.
            let consent = try? await CoordinatorConsent.load(deviceID: device.id, store: store)
            guard consent?.grantInForce(.training, at: now) != nil else {
                result.withoutConsent.append(device)
                continue
            }
            guard online else {
                result.offline.append(device)
                continue
            }
            let running = device.installedModels.contains {
                $0.name == bases.record.model && trainable.contains($0.sha256)
            }
            if running { result.eligible.append(device) } else { result.updating.append(device) }
        }
        return result
    }

    /// Devices that can train now, once they install the base, or once they are back online (with
    /// `offlineConsent`: only those with training consent).
    var possible: Int { eligible.count + updating.count + offline.count }

    /// E.g. `2 eligible (online, training consent, running m v1 fp32); not eligible: 1 offline (edge-3), …`.
    func summary(base: String) -> String {
        var parts: [String] = []
        if !offline.isEmpty { parts.append("\(offline.count) offline \(Self.names(offline))") }
        if !withoutConsent.isEmpty {
            parts.append(
                "\(withoutConsent.count) without training consent \(Self.names(withoutConsent)) "
                    + "(its owner runs `fleet-agent consent grant training`)"
            )
        }
        if !updating.isEmpty { parts.append("\(updating.count) not running \(base) yet \(Self.names(updating))") }
        return "\(eligible.count) eligible (online, training consent, running \(base))"
            + (parts.isEmpty ? "" : "; not eligible: " + parts.joined(separator: ", "))
    }

    private static func names(_ devices: [DeviceRecord]) -> String {
        let sorted = devices.map(\.name).sorted()
        return "(" + sorted.prefix(5).joined(separator: ", ") + (sorted.count > 5 ? ", …" : "") + ")"
    }
}
