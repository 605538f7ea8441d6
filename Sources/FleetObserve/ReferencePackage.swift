import Foundation

/// What travels in `ReferenceStatisticsMessage.statistics` (`Protocol/OBSERVABILITY.md`): a model version's
/// reference statistics with the drift settings its operator chose. UTF-8 JSON, at most
/// ``maximumEncodedSize`` bytes, `format` 1.
public struct ReferencePackage: Sendable, Hashable, Codable {
    public static let currentFormat = 1
    public static let maximumEncodedSize = 512 * 1024

    public var format: Int
    public var statistics: ReferenceStatistics
    /// PSI and Jensen-Shannon thresholds for this model (defaults 0.2 and 0.1).
    public var thresholds: DriftThresholds
    /// When set, agents add Laplace noise of scale `1 / laplaceEpsilon` to every count they send.
    public var laplaceEpsilon: Double?
    /// The factor the rows were scaled by before the statistics were taken (the model's input space).
    public var featureScale: Float
    /// The features' names, from the reference CSV's header (`p0`…`p63`), so drift names them as the data does;
    /// nil in packages made before names were kept (features are then shown as `f<index>`).
    public var featureNames: [String]?

    public init(
        statistics: ReferenceStatistics,
        thresholds: DriftThresholds = DriftThresholds(),
        laplaceEpsilon: Double? = nil,
        featureScale: Float = 1,
        featureNames: [String]? = nil
    ) {
        self.format = Self.currentFormat
        self.statistics = statistics
        self.thresholds = thresholds
        self.laplaceEpsilon = laplaceEpsilon
        self.featureScale = featureScale
        self.featureNames = featureNames
    }

    /// How the feature at `index` is named for people: its name from the reference data, else `f<index>`.
    public func featureName(_ index: Int) -> String {
        featureNames.flatMap { index < $0.count ? $0[index] : nil } ?? "f\(index)"
    }

    public func encoded() throws(ObserveError) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let bytes: [UInt8]
        do {
            bytes = Array(try encoder.encode(self))
        } catch {
            throw .invalidInput("reference statistics do not encode: \(error)")
        }
        guard bytes.count <= Self.maximumEncodedSize else {
            throw .invalidInput("reference statistics of \(bytes.count) bytes exceed \(Self.maximumEncodedSize)")
        }
        return bytes
    }

    /// Decodes and checks a package: size, format, and shapes (bins ≤ 256 per feature, ≤ 4096 features and
    /// classes, proportions matching their bins, thresholds and epsilon positive).
    public init(decoding bytes: [UInt8]) throws(ObserveError) {
        guard bytes.count <= Self.maximumEncodedSize else { throw .malformed("reference package over 512 KiB") }
        let package: ReferencePackage
        do {
            package = try JSONDecoder().decode(ReferencePackage.self, from: Data(bytes))
        } catch {
            throw .malformed("reference package is not valid JSON: \(error)")
        }
        guard package.format == Self.currentFormat else { throw .malformed("reference format \(package.format)") }
        let statistics = package.statistics
        guard (1...4096).contains(statistics.features.count), (1...4096).contains(statistics.classCount),
            (0...256).contains(statistics.confidenceBins), statistics.sampleCount > 0
        else { throw .malformed("reference statistics out of bounds") }
        for feature in statistics.features {
            guard feature.binCount <= 256, feature.proportions.count == feature.binCount,
                zip(feature.cuts, feature.cuts.dropFirst()).allSatisfy({ $0 < $1 })
            else { throw .malformed("feature bins are not ascending or do not match their proportions") }
        }
        guard statistics.classProportions.isEmpty || statistics.classProportions.count == statistics.classCount,
            statistics.confidenceProportions.isEmpty
                || statistics.confidenceProportions.count == statistics.confidenceBins
        else { throw .malformed("class or confidence proportions do not match their counts") }
        guard package.thresholds.psi > 0, package.thresholds.jensenShannon > 0,
            (package.laplaceEpsilon ?? 1) > 0, package.featureScale.isFinite
        else { throw .malformed("thresholds and epsilon must be positive") }
        if let names = package.featureNames {
            guard names.count == statistics.features.count, names.allSatisfy({ (1...64).contains($0.utf8.count) })
            else { throw .malformed("featureNames must name each feature in 1-64 bytes") }
        }
        self = package
    }
}
