import FleetObserve
import FleetStore
import Foundation

/// One device's input drift over a rollout window: the median over input features of the sample-size-corrected
/// PSI of what it saw against the reference statistics of the version it runs (the quantity `fleetctl drift`
/// judges a device on), and how many observations that rests on.
struct DeviceInputDrift: Sendable, Equatable {
    var psi: Double
    var samples: Int
}

extension DriftAssessor {
    /// Per device of `deviceIDs`, its input drift on `model` `version`, from its drift reports received since
    /// `since`, merged; nil when the version has no (readable) reference statistics. Devices without reports are
    /// absent.
    func inputDrift(
        model: String,
        version: Int,
        deviceIDs: [String],
        since: Date
    ) async throws -> [String: DeviceInputDrift]? {
        guard let encoded = try await store.referenceStatistics(model: model, version: version),
            let package = try? ReferencePackage(decoding: encoded)
        else { return nil }
        let evaluator = DriftEvaluator(
            thresholds: package.thresholds,
            criterion: .medianFeaturePSI,
            minimumSamples: minimumSamples
        )
        var drift: [String: DeviceInputDrift] = [:]
        let reports = try await store.driftReports(
            model: model,
            version: version,
            deviceIDs: deviceIDs,
            receivedSince: since
        )
        for (deviceID, records) in reports {
            let summaries = records.compactMap { try? DriftSummary(decoding: $0.summary) }
            guard !summaries.isEmpty, let merged = try? DriftSummary.merged(summaries),
                let report = try? evaluator.evaluate(merged, against: package.statistics)
            else { continue }
            drift[deviceID] = DeviceInputDrift(psi: report.medianFeature.psi, samples: report.sampleCount)
        }
        return drift
    }
}
