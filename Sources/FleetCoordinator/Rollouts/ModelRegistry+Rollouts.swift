import FleetStore
import FleetWire
import Foundation

/// How rollouts enter model planning: a held version (`model push --no-assign`) is assigned only to the devices of a
/// rollout's started waves; every other device keeps the newest version that is not held.
extension ModelRegistry {
    struct PlannedVersion {
        var version: Int
        /// The only variant allowed (a rollout's `--variant`); nil for any that fits.
        var variant: String?
    }

    /// The version `deviceID` should follow when no pin says otherwise.
    func plannedVersion(model: String, deviceID: String, versions: [Int]) async throws -> PlannedVersion {
        let held = try await store.heldVersions(model: model)
        let open = versions.filter { !held.contains($0) }.max() ?? 0
        guard !held.isEmpty, let grant = try await store.rolloutGrant(model: model, deviceID: deviceID),
            grant.version > open, versions.contains(grant.version)
        else { return PlannedVersion(version: open, variant: nil) }
        return PlannedVersion(version: grant.version, variant: grant.variant.isEmpty ? nil : grant.variant)
    }

    /// A publish without `--no-assign` releases the holds up to its version: devices follow it as before.
    func releaseHolds(after begin: UploadBegin) async throws {
        let held = try await store.heldVersions(model: begin.model)
        guard !held.isEmpty, !held.contains(begin.version) else { return }
        try await store.releaseHolds(
            model: begin.model,
            upTo: begin.version,
            why: "v\(begin.version) \(begin.variant) was pushed without --no-assign",
            at: Date()
        )
    }
}

extension ModelVariantRecord {
    var candidate: VariantSelector.Candidate {
        VariantSelector.Candidate(
            variant: variant,
            version: version,
            size: size,
            accuracy: accuracy,
            requirements: requirements
        )
    }
}
