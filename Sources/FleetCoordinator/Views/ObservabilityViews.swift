import FleetObserve
import FleetStore
import FleetTrust
import Foundation

/// A device's consent as the coordinator holds it (`fleetctl consent --json`).
public struct ConsentView: Codable, Sendable {
    public struct Record: Codable, Sendable {
        public var sequence: UInt64
        public var purpose: String
        public var action: String
        public var until: String?
        public var issuedAt: String
        public var receivedAt: String
    }
    public var device: String
    public var name: String
    /// Per purpose: `granted`, `granted until …`, `revoked …`, `expired …` or `not granted`.
    public var consent: [String: String]
    /// Sample rows the coordinator holds for the device.
    public var samples: Int
    public var history: [Record]
}

/// The samples the coordinator holds for one device (`fleetctl samples --json`), and why.
public struct SampleHoldingView: Codable, Sendable {
    public var device: String
    public var name: String
    public var samples: Int
    public var batches: Int
    public var models: [String]
    /// The consent records (`samples` grants) the batches were accepted under.
    public var acceptedUnder: [String]
    /// The `samples` consent now.
    public var consent: String
}

/// One row of `fleetctl drift --json`: a device, or a region/the fleet with `--by`.
public struct DriftView: Codable, Sendable {
    public var device: String?
    public var name: String?
    public var region: String?
    public var devices: Int
    public var drifted: Bool
    /// Median over features of the sample-size-corrected PSI (the verdict quantity).
    public var psi: Double
    /// Median over features of the corrected Jensen-Shannon distance.
    public var js: Double
    /// The feature with the highest PSI (its name in the reference data's header, e.g. `p42`; `f<index>` for
    /// references pushed without names), and that PSI.
    public var worstFeature: String?
    public var worstFeaturePSI: Double?
    /// PSI and Jensen-Shannon distance of the predicted classes.
    public var predictionPSI: Double?
    public var predictionJS: Double?
    public var samples: Int
    public var reports: Int
    /// What those reports cost on the wire (whole frames), and what the raw float32 inputs of the same
    /// observations would have cost.
    public var wireBytes: Int
    public var rawInputBytes: Int
    public var model: String
    public var version: Int
}

extension DeviceRecord {
    /// The devices whose id or name is `device` (every device when nil).
    package static func matching(_ device: String?, in store: CoordinatorStore) async throws -> [DeviceRecord] {
        let all = try await store.devices()
        guard let device else { return all }
        return all.filter { $0.id == device || $0.name == device }
    }
}

extension ConsentView {
    /// The consent of `devices` as the store holds it: `fleetctl consent --json`, `GET /api/v1/consent`.
    package static func all(of devices: [DeviceRecord], in store: CoordinatorStore) async throws -> [ConsentView] {
        let records = Dictionary(grouping: try await store.allConsentRecords(), by: \.deviceID)
        let holdings = Dictionary(grouping: try await store.sampleHoldings(), by: \.deviceID)
        let now = Date()
        return try devices.map { device in
            let stored = records[device.id] ?? []
            let ledger = try ConsentLedger.restoring(
                deviceID: device.id,
                publicKey: device.publicKey,
                history: try stored.map { try SignedConsentRecord(decoding: $0.record) }
            )
            return ConsentView(
                device: device.id,
                name: device.name,
                consent: ledger.describe(at: now),
                samples: (holdings[device.id] ?? []).reduce(0) { $0 + $1.rows },
                history: stored.map {
                    ConsentView.Record(
                        sequence: $0.sequence,
                        purpose: $0.purpose,
                        action: $0.action,
                        until: $0.until.map(ISO8601.string),
                        issuedAt: ISO8601.string($0.issuedAt),
                        receivedAt: ISO8601.string($0.receivedAt)
                    )
                }
            )
        }
    }
}

extension SampleHoldingView {
    /// What the store holds of `devices`' samples (counts, never contents): those holding some, or with
    /// `everyOne` each of `devices` (`fleetctl samples --json`, `GET /api/v1/samples`).
    package static func all(
        of devices: [DeviceRecord],
        everyOne: Bool,
        in store: CoordinatorStore
    ) async throws -> [SampleHoldingView] {
        let consent = Dictionary(try await ConsentView.all(of: devices, in: store).map { ($0.device, $0) }) {
            first,
            _ in first
        }
        let holdings = Dictionary(grouping: try await store.sampleHoldings(), by: \.deviceID)
        return devices.compactMap { record in
            let held = holdings[record.id] ?? []
            guard everyOne || !held.isEmpty else { return nil }
            let history = consent[record.id]?.history ?? []
            let sequences = Set(held.flatMap(\.consentSequences))
            return SampleHoldingView(
                device: record.id,
                name: record.name,
                samples: held.reduce(0) { $0 + $1.rows },
                batches: held.reduce(0) { $0 + $1.batches },
                models: held.map(\.model).sorted(),
                acceptedUnder: history.filter { sequences.contains($0.sequence) }.map {
                    "#\($0.sequence) \($0.action) \($0.purpose) \($0.issuedAt)"
                        + ($0.until.map { " until \($0)" } ?? "")
                },
                consent: consent[record.id]?.consent["samples"] ?? "not granted"
            )
        }
    }
}

extension DriftView {
    /// Drift of `model` per device, or per region or fleet-wide (`by`: nil, `region`, `fleet`), as
    /// `fleetctl drift --json` prints it and `GET /api/v1/drift` serves it; nil when the model has no reference
    /// statistics.
    package static func assess(
        model: String,
        version: Int?,
        by: String?,
        in store: CoordinatorStore
    ) async throws -> [DriftView]? {
        guard let assessment = try await DriftAssessor(store: store).assess(model: model, version: version) else {
            return nil
        }
        let devices = Dictionary(try await store.devices().map { ($0.id, $0) }) { first, _ in first }
        return views(of: assessment, by: by, devices: devices)
    }

    /// The rows of `assessment` per device, region (`by`: `region`) or the fleet (`fleet`); `devices` by id.
    package static func views(
        of assessment: DriftAssessment,
        by: String?,
        devices: [String: DeviceRecord]
    )
        -> [DriftView]
    {
        func view(_ scope: ScopeDrift, device: DeviceRecord?, region: String?) -> DriftView {
            let worst = scope.report.worstFeature
            return DriftView(
                device: device?.id,
                name: device?.name,
                region: region,
                devices: scope.deviceIDs.count,
                drifted: scope.report.drifted,
                psi: rounded(scope.psi),
                js: rounded(scope.jensenShannon),
                worstFeature: worst.map { assessment.package.featureName($0.index) },
                worstFeaturePSI: worst.map { rounded($0.psi) },
                predictionPSI: scope.report.predictions.map { rounded($0.correctedPSI) },
                predictionJS: scope.report.predictions.map { rounded($0.correctedJensenShannon) },
                samples: scope.report.sampleCount,
                reports: scope.reports,
                wireBytes: scope.wireBytes,
                rawInputBytes: scope.report.sampleCount * scope.report.features.count * 4,
                model: assessment.model,
                version: assessment.version
            )
        }
        switch by {
        case "region":
            return assessment.regions.map { view($0, device: nil, region: $0.scope) }
        case "fleet":
            return assessment.fleet.map { [view($0, device: nil, region: nil)] } ?? []
        default:
            return assessment.devices.map { scope in
                let device = devices[scope.scope]
                return view(scope, device: device, region: DriftAssessor.region(of: device))
            }
        }
    }

    /// Four decimals: what the views print.
    static func rounded(_ value: Double) -> Double { (value * 10_000).rounded() / 10_000 }
}
