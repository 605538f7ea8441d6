import FleetStore

/// A model as `fleetctl models --json` prints it, and `GET /api/v1/models` serves it (one encoder for both).
public struct ModelSummaryView: Codable, Sendable, Equatable {
    public var name: String
    public var latestVersion: Int
    public var versions: [Int]
    public var variants: [String]
    public var devices: Int
}

extension ModelSummaryView {
    /// Every model in the registry, as the store lists them.
    package static func all(in store: CoordinatorStore) async throws -> [ModelSummaryView] {
        try await store.models().map {
            ModelSummaryView(
                name: $0.name,
                latestVersion: $0.latestVersion,
                versions: $0.versions,
                variants: $0.variants,
                devices: $0.deviceCount
            )
        }
    }
}
