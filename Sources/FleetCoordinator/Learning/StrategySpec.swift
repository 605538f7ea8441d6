import FleetLearning

/// A round's aggregation, as named on the command line: a base strategy (`fedavg`, `median`,
/// `trimmed-mean[=FRACTION]`, `multi-krum[=FRACTION]`), then optional modifiers: `+bound[=K]` (median and trimmed mean: scale each update
/// down to at most K times the round's median update norm, default 1), `+clip=NORM` (update-norm clipping around
/// the base), `+adam[=LR]` (FedAdam server optimizer) or `+momentum[=LR]` (server momentum), and `+regional`
/// (with a hierarchical round: also publish each region's model as a variant for that region's devices). `default` is TinyFleet's
/// tuned choice, `fedavg+adam=0.05`.
struct StrategySpec: Sendable, CustomStringConvertible {
    let text: String
    let strategy: any AggregationStrategy
    let optimizer: ServerOptimizer
    /// `+regional`: publish each region's aggregate as the variant `VARIANT-REGION` as well.
    let regionalVariants: Bool

    static let defaultName = "fedavg+adam=0.05"

    /// The strategies take every update they are given: a round checks `--min-clients` on its total (with
    /// `--hierarchical`, a region of 2 devices in a round of min-clients 8 is fine).
    init(parsing raw: String) throws {
        let text = raw.isEmpty || raw == "default" ? Self.defaultName : raw
        var parts = text.split(separator: "+").map(String.init)
        guard let first = parts.first else { throw StrategyError("empty strategy") }
        parts.removeFirst()
        let (name, value) = Self.split(first)
        // `+bound` configures the coordinate-wise base itself, wherever it is written.
        var bound: Float?
        for modifier in parts where Self.split(modifier).0 == "bound" {
            let factor = Self.split(modifier).1 ?? (modifier.contains("=") ? .nan : 1)
            guard factor > 0, factor.isFinite else {
                throw StrategyError("+bound needs a positive factor, e.g. +bound=1")
            }
            bound = Float(factor)
        }
        parts.removeAll { Self.split($0).0 == "bound" }
        var strategy: any AggregationStrategy
        switch name {
        case "fedavg":
            guard bound == nil else {
                throw StrategyError("+bound applies to median and trimmed-mean; with fedavg use +clip=NORM")
            }
            strategy = FedAvg()
        case "median":
            strategy = FedMedian(medianNormBound: bound)
        case "trimmed-mean":
            strategy = try Self.checked {
                try FedTrimmedMean(trimFraction: value ?? 0.2, medianNormBound: bound)
            }
        case "multi-krum":
            guard bound == nil else { throw StrategyError("+bound applies to median and trimmed-mean") }
            strategy = try Self.checked {
                try MultiKrum(maliciousFraction: value ?? 0.3)
            }
        default:
            throw StrategyError("unknown strategy \"\(name)\": use fedavg, median, trimmed-mean or multi-krum")
        }
        var optimizer = ServerOptimizer()
        var regional = false
        for modifier in parts {
            let (key, parameter) = Self.split(modifier)
            switch key {
            case "clip":
                guard let parameter, parameter > 0 else { throw StrategyError("+clip needs a norm, e.g. +clip=5") }
                let wrapped = strategy
                strategy = try Self.checked { try NormClipping(wrapping: wrapped, maxNorm: Float(parameter)) }
            case "adam":
                optimizer = .adam(learningRate: Float(parameter ?? 0.05))
            case "regional":
                regional = true
            case "momentum":
                optimizer = ServerOptimizer(.momentum(learningRate: Float(parameter ?? 1), momentum: 0.9))
            default:
                throw StrategyError(
                    "unknown modifier \"+\(key)\": use +bound[=K], +clip=NORM, +adam[=LR], +momentum[=LR] or +regional"
                )
            }
        }
        self.text = text
        self.strategy = strategy
        self.optimizer = optimizer
        self.regionalVariants = regional
    }

    var description: String { text }

    /// A strategy's own configuration error, as a `StrategyError` that names the way out.
    private static func checked(
        _ make: () throws -> any AggregationStrategy
    ) throws(StrategyError) -> any AggregationStrategy {
        do {
            return try make()
        } catch {
            throw StrategyError("\(error); see fleetctl round start --help for the strategies and their ranges")
        }
    }

    private static func split(_ part: String) -> (String, Double?) {
        guard let equals = part.firstIndex(of: "=") else { return (part, nil) }
        return (String(part[..<equals]), Double(part[part.index(after: equals)...]))
    }
}

struct StrategyError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
