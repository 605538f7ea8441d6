import FleetLearning
import FleetModelIO
import FleetStore
import Foundation

/// Publishes a round's models through the model registry: the next version of the variant, and with
/// `+regional` each region's model as `VARIANT-REGION` for that region's devices.
struct RoundPublisher {
    let models: ModelRegistry

    /// Publishes `updated` as the next version; returns its version.
    func publish(
        _ updated: TensorSet,
        bases: RoundBases,
        roundID: Int,
        accuracy: Double?,
        replan: Bool
    ) async throws -> Int {
        var metadata = bases.record.metadata.merging(bases.loaded.metadata) { current, _ in current }
        metadata["round"] = "\(roundID)"
        if let accuracy { metadata["accuracy"] = String(format: "%.4f", accuracy) }
        let pushed = try await models.publishGenerated(
            model: bases.record.model,
            version: bases.version + 1,
            variant: bases.record.variant,
            bytes: try ModelFile.write(
                updated,
                metadata: bases.loaded.metadata.merging(["round": "\(roundID)"]) { _, new in new }
            ),
            requirements: bases.record.requirements,
            metadata: metadata,
            replan: replan
        )
        return pushed.version
    }

    /// `+regional`: each region's model (its own variant of the base version, or the base) plus its aggregate,
    /// published as `VARIANT-REGION` for the devices labelled with that region. Returns the variants' names.
    func publishRegional(
        _ regional: [String: AggregationResult],
        bases: RoundBases,
        roundID: Int,
        evaluation: RoundEvaluation?
    ) async throws -> [String] {
        var published: [String] = []
        for region in regional.keys.sorted() where region != "none" && region != "all" {
            let variant = "\(bases.record.variant)-\(region)"
            guard let result = regional[region], ModelNames.isValid(variant) else { continue }
            var step = ServerOptimizer()
            let updated = try step.apply(
                delta: result.delta,
                to: bases.regions[region]?.tensors ?? bases.loaded.tensors
            )
            let fileMetadata = bases.loaded.metadata.merging(["round": "\(roundID)", "region": region]) { _, new in
                new
            }
            var metadata = fileMetadata
            if let accuracy = try evaluation?.accuracy(of: updated) {
                metadata["accuracy"] = String(format: "%.4f", accuracy)
            }
            _ = try await models.publishGenerated(
                model: bases.record.model,
                version: bases.version + 1,
                variant: variant,
                bytes: try ModelFile.write(updated, metadata: fileMetadata),
                requirements: bases.record.requirements.merging(["region": region]) { _, new in new },
                metadata: metadata,
                replan: false
            )
            published.append(variant)
        }
        return published
    }
}
