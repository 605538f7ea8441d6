import FleetClient
import FleetStore
import FleetTrust
import FleetWire
import Foundation

/// The agent's durable state, as typed values over ``AgentStore``'s key-value table.
/// Every value is written before the step that depends on it, so a crash at any point resumes cleanly:
/// the identity key is saved before enrolment is sent, the enrolled flag after the coordinator accepts.
public struct AgentStateStore: Sendable {
    public let store: AgentStore

    private enum Key {
        static let identity = "identity.ed25519"
        static let enrolled = "enrolled.device-id"
        static let coordinator = "coordinator.address"
        static let labels = "coordinator.labels"
        static let formatVersion = "state.version"
        static let releaseKey = "coordinator.release-key"
        static let desired = "desired.state"
        static let capabilityOverrides = "capabilities.overrides"
    }

    /// The state layout version, as Mender's `kStateDataVersion`.
    public static let formatVersion: UInt8 = 1

    public init(store: AgentStore) {
        self.store = store
    }

    /// Loads the identity key, creating and saving one on first run.
    public func loadOrCreateIdentity() async throws -> DeviceIdentity {
        if let bytes = try await store.value(forKey: Key.identity) {
            return try DeviceIdentity(privateKeyBytes: bytes)
        }
        let identity = DeviceIdentity.generate()
        try await store.setValues([Key.identity: identity.privateKeyBytes, Key.formatVersion: [Self.formatVersion]])
        return identity
    }

    public func enrolledDeviceID() async throws -> String? {
        try await store.value(forKey: Key.enrolled).flatMap { String(bytes: $0, encoding: .utf8) }
    }

    public func markEnrolled(deviceID: String, labels: [String: String]) async throws {
        let labelData = try JSONEncoder().encode(labels)
        try await store.setValues([Key.enrolled: Array(deviceID.utf8), Key.labels: Array(labelData)])
    }

    /// The coordinators saved by the last start that named them (one address, as saved before lists, reads as a
    /// list of one).
    public func savedCoordinators() async throws -> CoordinatorList? {
        guard let bytes = try await store.value(forKey: Key.coordinator),
            let text = String(bytes: bytes, encoding: .utf8)
        else { return nil }
        return try? CoordinatorList(parsing: text)
    }

    public func saveCoordinators(_ list: CoordinatorList) async throws {
        try await store.setValue(Array(list.description.utf8), forKey: Key.coordinator)
    }

    public func labels() async throws -> [String: String] {
        guard let bytes = try await store.value(forKey: Key.labels) else { return [:] }
        return (try? JSONDecoder().decode([String: String].self, from: Data(bytes))) ?? [:]
    }

    /// The `--capability` overrides in force, kept across restarts as labels are: the saved ones, updated with
    /// `given` (a key given with an empty value drops its override), saved again when they changed.
    public func capabilityOverrides(merging given: [String: String]) async throws -> [String: String] {
        var overrides: [String: String] = [:]
        if let bytes = try await store.value(forKey: Key.capabilityOverrides) {
            overrides = (try? JSONDecoder().decode([String: String].self, from: Data(bytes))) ?? [:]
        }
        let saved = overrides
        for (key, value) in given { overrides[key] = value.isEmpty ? nil : value }
        if overrides != saved {
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            try await store.setValue(Array(try encoder.encode(overrides)), forKey: Key.capabilityOverrides)
        }
        return overrides
    }

    /// The coordinator's release key, pinned the first time the coordinator names it.
    public func pinnedReleaseKey() async throws -> [UInt8]? {
        try await store.value(forKey: Key.releaseKey)
    }

    public func pinReleaseKeyIfUnset(_ key: [UInt8]) async throws {
        guard key.count == 32, try await pinnedReleaseKey() == nil else { return }
        try await store.setValue(key, forKey: Key.releaseKey)
    }

    /// What the coordinator last said this device should run (for `fleet-agent status`).
    public struct DesiredEntry: Codable, Sendable, Equatable {
        public var model: String
        public var version: Int?
        public var variant: String?
        public var reason: String
        /// The version was pushed `--metered` (manifest metadata `metered: true`): no query without a grant.
        public var metered: Bool? = nil
    }

    public func saveDesired(_ state: DesiredState) async throws {
        let entries = state.models.map { desired in
            let manifest = try? SignedManifest(decoding: desired.manifest).manifest
            return DesiredEntry(
                model: desired.model,
                version: manifest?.version,
                variant: manifest?.variant,
                reason: desired.reason,
                metered: manifest?.metadata["metered"] == "true" ? true : nil
            )
        }
        try await store.setValue(Array(try JSONEncoder().encode(entries)), forKey: Key.desired)
    }

    /// Whether the coordinator's desired state marks `model` as pushed `--metered`.
    public func isPushedMetered(_ model: String) async throws -> Bool {
        try await desired().contains { $0.model == model && $0.metered == true }
    }

    public func desired() async throws -> [DesiredEntry] {
        guard let bytes = try await store.value(forKey: Key.desired) else { return [] }
        return (try? JSONDecoder().decode([DesiredEntry].self, from: Data(bytes))) ?? []
    }
}
