import FleetLearning
import FleetModelIO
import FleetStore

/// A variant of the round's base version that devices train from: the base itself, or a region's own
/// variant `VARIANT-REGION` published by a `+regional` round.
struct TrainingBase {
    var record: ModelVariantRecord
    var file: [UInt8]
    var tensors: TensorSet
}

/// What a round trains from: the newest version of the variant, and the regional variants of that version
/// whose devices train from their own region's model.
struct RoundBases {
    var version: Int
    var record: ModelVariantRecord
    var file: [UInt8]
    var loaded: ModelFile.Loaded
    /// By region label: the regions that have their own variant of the base version.
    var regions: [String: TrainingBase]

    /// The files a device may run to take part: the base and every regional variant of its version.
    var trainableSHA256s: Set<[UInt8]> { Set(regions.values.map(\.record.sha256)).union([record.sha256]) }

    /// `MODEL vN VARIANT`, as reasons name it.
    var name: String { "\(record.model) v\(version) \(record.variant)" }

    static func load(
        model: String,
        variant: String,
        store: CoordinatorStore,
        models: ModelRegistry
    ) async throws
        -> RoundBases
    {
        guard let version = try await store.latestVersion(model: model),
            let record = try await store.modelVariant(model: model, version: version, variant: variant)
        else {
            throw RoundError(
                "no \(variant) variant at the newest version of \(model): push one or use `fleetctl model init`"
            )
        }
        let file = try models.blobs.read(record.blobPath)
        let loaded = try ModelFile.load(file)
        var regions: [String: TrainingBase] = [:]
        for regional in try await store.modelVariants(model: model)
        where regional.version == version && regional.variant.hasPrefix(variant + "-") {
            guard let region = regional.requirements["region"] else { continue }
            let regionalFile = try models.blobs.read(regional.blobPath)
            let tensors = try ModelFile.load(regionalFile).tensors
            guard tensors.names == loaded.tensors.names, tensors.shapes == loaded.tensors.shapes else { continue }
            regions[region] = TrainingBase(record: regional, file: regionalFile, tensors: tensors)
        }
        return RoundBases(version: version, record: record, file: file, loaded: loaded, regions: regions)
    }
}

/// A round-level failure, with what happened and what to do.
struct RoundError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
