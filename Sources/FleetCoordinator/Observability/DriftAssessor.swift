import FleetObserve
import FleetStore
import Foundation

/// The drift of one scope (a device, a region or the fleet) of a model version, against its reference.
public struct ScopeDrift: Sendable {
    /// The device id, the region name, or `fleet`.
    public let scope: String
    public let deviceIDs: [String]
    public let report: DriftReport
    /// Drift reports merged into this view.
    public let reports: Int
    /// The bytes those reports cost on the wire (whole frames).
    public let wireBytes: Int

    /// The verdict quantity: the median over features of the sample-size-corrected PSI.
    public var psi: Double { report.medianFeature.psi }
    /// The median over features of the corrected Jensen-Shannon distance.
    public var jensenShannon: Double { report.medianFeature.jensenShannon }
}

/// Everything `fleetctl drift` and the alerts need about one model version.
public struct DriftAssessment: Sendable {
    public let model: String
    public let version: Int
    public let package: ReferencePackage
    public let devices: [ScopeDrift]
    public let regions: [ScopeDrift]
    public let fleet: ScopeDrift?
}

/// Compares what devices report with a model version's reference, per device, per region (label `region`) and
/// fleet-wide.
///
/// A device's view is its newest reports, going back until they hold at least `minimumSamples` observations (a
/// report window can be short, and a batch of inferences can straddle two windows); regions and the fleet merge
/// their devices' views. Devices and regions are judged with ``DriftCriterion/medianFeaturePSI`` (robust to
/// label skew between devices); the fleet also with its predictions (``DriftCriterion/predictionsOrMedianFeaturePSI``).
public struct DriftAssessor: Sendable {
    public let store: CoordinatorStore
    public var minimumSamples: Int

    public init(store: CoordinatorStore, minimumSamples: Int = 50) {
        self.store = store
        self.minimumSamples = minimumSamples
    }

    /// The assessment of `version` (default: the newest version with reference statistics); nil without any.
    public func assess(model: String, version: Int? = nil, onlyRegion: String? = nil) async throws -> DriftAssessment? {
        let found: (version: Int, statistics: [UInt8])?
        if let version {
            found = try await store.referenceStatistics(model: model, version: version).map { (version, $0) }
        } else {
            found = try await store.latestReferenceStatistics(model: model)
        }
        guard let found else { return nil }
        let package = try ReferencePackage(decoding: found.statistics)
        let devices = Dictionary(try await store.devices().map { ($0.id, $0) }) { first, _ in first }
        var deviceViews: [(id: String, summary: DriftSummary, reports: Int, bytes: Int)] = []
        for deviceID in try await store.driftReportDevices(model: model, version: found.version).sorted() {
            if let onlyRegion, Self.region(of: devices[deviceID]) != onlyRegion { continue }
            let records = try await store.recentDriftReports(
                deviceID: deviceID,
                model: model,
                version: found.version,
                minimumSamples: minimumSamples
            )
            let summaries = records.compactMap { try? DriftSummary(decoding: $0.summary) }
            guard !summaries.isEmpty, let merged = try? DriftSummary.merged(summaries) else { continue }
            deviceViews.append((deviceID, merged, summaries.count, records.reduce(0) { $0 + $1.wireBytes }))
        }
        let local = DriftEvaluator(
            thresholds: package.thresholds,
            criterion: .medianFeaturePSI,
            minimumSamples: minimumSamples
        )
        let global = DriftEvaluator(
            thresholds: package.thresholds,
            criterion: .predictionsOrMedianFeaturePSI,
            minimumSamples: minimumSamples
        )
        var deviceResults: [ScopeDrift] = []
        for view in deviceViews {
            guard let report = try? local.evaluate(view.summary, against: package.statistics) else { continue }
            deviceResults.append(
                ScopeDrift(
                    scope: view.id,
                    deviceIDs: [view.id],
                    report: report,
                    reports: view.reports,
                    wireBytes: view.bytes
                )
            )
        }
        let byRegion = Dictionary(grouping: deviceViews) { Self.region(of: devices[$0.id]) }
        var regionResults: [ScopeDrift] = []
        for (region, views) in byRegion.sorted(by: { $0.key < $1.key }) {
            guard let merged = try? DriftSummary.merged(views.map(\.summary)),
                let report = try? local.evaluate(merged, against: package.statistics)
            else { continue }
            regionResults.append(
                ScopeDrift(
                    scope: region,
                    deviceIDs: views.map(\.id),
                    report: report,
                    reports: views.map(\.reports).reduce(0, +),
                    wireBytes: views.map(\.bytes).reduce(0, +)
                )
            )
        }
        var fleet: ScopeDrift?
        if let merged = try? DriftSummary.merged(deviceViews.map(\.summary)),
            let report = try? global.evaluate(merged, against: package.statistics)
        {
            fleet = ScopeDrift(
                scope: "fleet",
                deviceIDs: deviceViews.map(\.id),
                report: report,
                reports: deviceViews.map(\.reports).reduce(0, +),
                wireBytes: deviceViews.map(\.bytes).reduce(0, +)
            )
        }
        return DriftAssessment(
            model: model,
            version: found.version,
            package: package,
            devices: deviceResults,
            regions: regionResults,
            fleet: fleet
        )
    }

    /// A device's region: its `region` label, or `-`.
    public static func region(of device: DeviceRecord?) -> String {
        region(labels: device?.labels)
    }

    /// The label that names a device's region.
    package static let regionLabel = "region"

    /// The `region` label, `-` without one.
    package static func region(labels: [String: String]?) -> String {
        labels?[regionLabel] ?? "-"
    }
}
