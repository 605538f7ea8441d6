import FleetAgent
import FleetClient
import FleetCoordinator
import FleetDelta
import FleetLearning
import FleetModelIO
import FleetObserve
import FleetStore
import FleetTrust
import FleetWire
import Foundation

/// What `fleetctl model push --reference-data` sent.
public struct ReferencePushView: Codable, Sendable {
    public var model: String
    public var version: Int
    public var rows: Int
    public var features: Int
    public var featureBins: Int
    public var featureScale: Float
    public var bytes: Int
}

extension FleetInspector {
    public func consent(device: String?) async throws -> [ConsentView] {
        let store = try await requireLocalStore("consent")
        return try await ConsentView.all(of: try await selectDevices(store, device), in: store)
    }

    /// Devices holding samples (with `device`: that device, even when it holds none).
    public func samples(device: String?) async throws -> [SampleHoldingView] {
        let store = try await requireLocalStore("samples")
        let devices = try await selectDevices(store, device)
        return try await SampleHoldingView.all(of: devices, everyOne: device != nil, in: store)
    }

    /// Every consented sample of `model` as one CSV (the batches' columns, then `device` and `consent`).
    public func exportSamples(model: String) async throws -> String {
        let store = try await requireLocalStore("samples export")
        var header: String?
        var lines: [String] = []
        for batch in try await store.sampleBatches(model: model) {
            let csv = try Zlib.decompress(batch.compressedCSV, maximumSize: 64 << 20)
            let rows = String(decoding: csv, as: UTF8.self).split(separator: "\n").map(String.init)
            guard let first = rows.first else { continue }
            if header == nil { header = first + ",device,consent" }
            guard first + ",device,consent" == header else { continue }  // another feature layout: skip
            for row in rows.dropFirst() { lines.append("\(row),\(batch.deviceID),\(batch.consentSequence)") }
        }
        guard let header else { throw ControlError("no samples held for \(model)") }
        return ([header] + lines).joined(separator: "\n") + "\n"
    }

    /// Drift of `model` per device, or per region or fleet-wide (`by`: nil, `region`, `fleet`).
    public func drift(model: String, version: Int?, by: String?) async throws -> [DriftView] {
        guard
            let views = try await DriftView.assess(
                model: model,
                version: version,
                by: by,
                in: await requireLocalStore("drift")
            )
        else {
            throw ControlError(
                "no reference statistics for \(model): push it with `fleetctl model push --reference-data`"
            )
        }
        return views
    }

    /// Computes reference statistics from training rows with the model's own predictions on them: the package
    /// `fleetctl model push --reference-data` commits with `model` v`version`, computed before anything is sent
    /// so that bad rows fail the push with nothing published.
    public func referencePackage(
        model: String,
        version: Int,
        modelFile: String,
        referenceData: String,
        featureScale: Float?,
        thresholds: DriftThresholds,
        laplaceEpsilon: Double?,
        bins: Int = 10
    ) throws -> (bytes: [UInt8], view: ReferencePushView) {
        guard let weights = FileManager.default.contents(atPath: modelFile) else {
            throw ControlError("cannot read \(modelFile)")
        }
        let (mlp, loaded) = try ModelFile.mlp(Array(weights))
        let table = try referenceRows(referenceData, width: mlp.inputCount)
        let scale =
            featureScale ?? loaded.metadata["feature-scale"].flatMap(Float.init) ?? (table.looksLikeDigits ? 1 / 16 : 1)
        let rows = table.rows.map { $0.map { $0 * scale } }
        let predictions = try mlp.predict(rows: rows)
        let statistics = try ReferenceStatistics.compute(
            features: rows,
            predictions: predictions.map(\.label),
            confidences: predictions.map(\.confidence),
            bins: bins,
            classCount: mlp.outputCount
        )
        let package = ReferencePackage(
            statistics: statistics,
            thresholds: thresholds,
            laplaceEpsilon: laplaceEpsilon,
            featureScale: scale,
            featureNames: table.header.allSatisfy { (1...64).contains($0.utf8.count) } ? table.header : nil
        )
        let bytes = try package.encoded()
        let view = ReferencePushView(
            model: model,
            version: version,
            rows: rows.count,
            features: statistics.features.count,
            featureBins: statistics.features.reduce(0) { $0 + $1.binCount },
            featureScale: scale,
            bytes: bytes.count
        )
        return (bytes, view)
    }

    private func selectDevices(_ store: CoordinatorStore, _ device: String?) async throws -> [DeviceRecord] {
        let matching = try await DeviceRecord.matching(device, in: store)
        guard device == nil || !matching.isEmpty else {
            throw ControlError("no device \"\(device ?? "")\": `fleetctl devices` lists them")
        }
        return matching
    }
}

extension Output {
    public static func consentTable(_ views: [ConsentView]) -> String {
        Table(
            headers: ["DEVICE", "NAME", "DRIFT-STATS", "SAMPLES", "TRAINING", "RECORDS", "SAMPLES HELD"],
            rows: views.map {
                [
                    $0.device, $0.name, $0.consent["drift-stats"] ?? "-", $0.consent["samples"] ?? "-",
                    $0.consent["training"] ?? "-", "\($0.history.count)", "\($0.samples)",
                ]
            }
        ).render()
    }

    public static func samplesTable(_ views: [SampleHoldingView]) -> String {
        guard !views.isEmpty else { return "no samples held" }
        return Table(
            headers: ["DEVICE", "NAME", "SAMPLES", "BATCHES", "MODELS", "ACCEPTED UNDER", "CONSENT NOW"],
            rows: views.map {
                [
                    $0.device, $0.name, "\($0.samples)", "\($0.batches)", $0.models.joined(separator: ","),
                    $0.acceptedUnder.joined(separator: "; "), $0.consent,
                ]
            }
        ).render()
    }

    /// The worst first: drifted, then by PSI.
    public static func driftTable(_ views: [DriftView]) -> String {
        guard let first = views.first else { return "no drift reports yet" }
        let sorted = views.sorted { lhs, rhs in
            lhs.drifted != rhs.drifted ? lhs.drifted : lhs.psi > rhs.psi
        }
        let table = Table(
            headers: ["DEVICE", "NAME", "REGION", "DRIFTED", "PSI", "JS", "WORST FEATURE", "PRED JS", "SAMPLES"],
            rows: sorted.map(driftRow)
        ).render()
        return "\(first.model) v\(first.version): median feature PSI and JS (sample-size corrected)\n" + table
    }

    private static func driftRow(_ view: DriftView) -> [String] {
        let scope: String
        if let device = view.device {
            scope = device
        } else {
            scope = view.region == nil ? "fleet" : "\(view.devices) device(s)"
        }
        var worst = "-"
        if let feature = view.worstFeature {
            worst = "\(feature) (PSI \(String(format: "%.2f", view.worstFeaturePSI ?? 0)))"
        }
        let predictions = view.predictionJS.map { String(format: "%.3f", $0) } ?? "-"
        return [
            scope, view.name ?? "-", view.region ?? "-", view.drifted ? "YES" : "no", String(format: "%.3f", view.psi),
            String(format: "%.3f", view.js), worst, predictions, "\(view.samples)",
        ]
    }
}

/// Reference rows from CSV (`FeatureRows`): exactly the model's input width of feature columns, at least one row.
func referenceRows(_ path: String, width: Int) throws -> FeatureRows {
    let table: FeatureRows
    do { table = try FeatureRows.read(file: path) } catch { throw ControlError(error.description) }
    guard table.header.count == width else {
        throw ControlError("\(path) has \(table.header.count) feature columns; the model takes \(width)")
    }
    guard !table.rows.isEmpty else { throw ControlError("\(path) has no rows") }
    return table
}
