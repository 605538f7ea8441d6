import FleetLearning
import FleetStore
import Foundation
import Logging

/// How a round ended, as recorded.
struct RoundOutcome {
    var status: RoundRecord.Status = .failed
    var publishedVersion: Int?
    var accuracy: Double?
    var bytesUp = 0
    var bytesDown = 0
    var detail: String
}

/// The end of a round once its updates are in: records refused updates and capped weights, aggregates with the
/// round's strategy, evaluates the result (`RoundEvaluation`) and either holds it back, keeping the model, or
/// publishes it (`RoundPublisher`) as the next version.
struct RoundConclusion {
    let store: CoordinatorStore
    let models: ModelRegistry
    let weightCap: SampleWeightCap
    let logger: Logger

    func conclude(
        _ round: RoundCollection,
        settings: RoundRunner.Settings,
        bases: RoundBases,
        evaluation: RoundEvaluation?,
        taskBytes: Int,
        optimizer: inout ServerOptimizer
    ) async throws -> RoundOutcome {
        let request = settings.request
        let roundID = round.id
        let bytesDown =
            try await deliveryBytes(model: request.model, version: bases.version, devices: round.selected)
            + taskBytes * round.selected.count
        var outcome = RoundOutcome(bytesUp: round.bytesUp, bytesDown: bytesDown, detail: "")

        var round = round
        let aggregated = try round.aggregate(strategy: settings.spec.strategy, weightCap: weightCap)
        for (deviceID, reason) in aggregated.refused {
            try await store.setParticipant(
                RoundParticipantRecord(
                    round: roundID,
                    deviceID: deviceID,
                    status: .refused,
                    bytesDown: taskBytes,
                    reason: reason,
                    updatedAt: Date()
                )
            )
        }
        var cappedNote = ""
        if let limit = aggregated.weightLimit, !aggregated.capped.isEmpty {
            for (deviceID, reported) in aggregated.capped {
                try await store.setParticipantReason(
                    round: roundID,
                    deviceID: deviceID,
                    reason: "reported \(reported) samples; weighed as \(limit) (\(weightCap))"
                )
            }
            cappedNote = "; \(aggregated.capped.count) sample count(s) capped at \(limit) (\(weightCap))"
        }
        let refused = round.refusedCount + aggregated.refused.count
        let refusedNote = refused > 0 ? " (\(refused) refused: see fleetctl round show \(roundID))" : ""
        guard aggregated.updates >= request.minimumClients, let result = aggregated.global else {
            outcome.detail =
                "\(aggregated.updates) usable update(s) by the deadline\(refusedNote), min-clients "
                + "\(request.minimumClients); model kept"
            return outcome
        }
        let before = optimizer
        let updated = try optimizer.apply(delta: result.delta, to: bases.loaded.tensors)
        let accuracy = try evaluation?.accuracy(of: updated)
        if let evaluation, let accuracy,
            let reason = evaluation.holdBackReason(
                accuracy: accuracy,
                baseAccuracy: try evaluation.accuracy(of: bases.loaded.tensors),
                base: bases.name
            )
        {
            optimizer = before
            outcome.accuracy = accuracy
            outcome.detail =
                "\(aggregated.updates) update(s) aggregated (\(settings.spec.text))\(refusedNote); held back: "
                + "\(reason); model kept"
            return outcome
        }
        let publisher = RoundPublisher(models: models)
        var regionalDetail = ""
        if settings.spec.regionalVariants {
            let published = try await publisher.publishRegional(
                aggregated.regional,
                bases: bases,
                roundID: roundID,
                evaluation: evaluation
            )
            regionalDetail = "; regional variants " + published.joined(separator: ", ")
        }
        let version = try await publisher.publish(
            updated,
            bases: bases,
            roundID: roundID,
            accuracy: accuracy,
            replan: true
        )
        outcome.status = .published
        outcome.publishedVersion = version
        outcome.accuracy = accuracy
        outcome.detail =
            "\(aggregated.updates) update(s) aggregated (\(settings.spec.text))\(refusedNote), published v\(version)"
            + (accuracy.map { String(format: ", test accuracy %.4f", $0) } ?? "") + cappedNote + regionalDetail
        logger.info(
            "round published",
            metadata: ["round": "\(roundID)", "version": "\(version)", "accuracy": "\(accuracy ?? -1)"]
        )
        return outcome
    }

    private func deliveryBytes(model: String, version: Int, devices: Set<String>) async throws -> Int {
        try await store.transfers(deviceID: nil, model: model)
            .filter { $0.version == version && devices.contains($0.deviceID) }
            .reduce(0) { $0 + $1.wireBytes }
    }
}
