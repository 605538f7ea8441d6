import FleetLearning

/// A round's aggregation, as named on the command line: a base strategy (`fedavg`, `median`,
/// `trimmed-mean[=FRACTION]`), then optional modifiers: `+clip=NORM` (update-norm clipping around the base),
/// `+adam[=LR]` (FedAdam server optimizer) or `+momentum[=LR]` (server momentum). `default` is TinyFleet's
/// tuned choice, `fedavg+adam=0.05`.
struct StrategySpec: Sendable, CustomStringConvertible {
    let text: String
    let strategy: any AggregationStrategy
    let optimizer: ServerOptimizer

    static let defaultName = "fedavg+adam=0.05"

    init(parsing raw: String, minimumClients: Int) throws {
        let text = raw.isEmpty || raw == "default" ? Self.defaultName : raw
        var parts = text.split(separator: "+").map(String.init)
        guard let first = parts.first else { throw StrategyError("empty strategy") }
        parts.removeFirst()
        let (name, value) = Self.split(first)
        var strategy: any AggregationStrategy
        switch name {
        case "fedavg":
            strategy = FedAvg(minimumClients: minimumClients)
        case "median":
            strategy = FedMedian(minimumClients: minimumClients)
        case "trimmed-mean":
            strategy = try FedTrimmedMean(trimFraction: value ?? 0.2, minimumClients: minimumClients)
        default:
            throw StrategyError("unknown strategy \"\(name)\": use fedavg, median or trimmed-mean")
        }
        var optimizer = ServerOptimizer()
        for modifier in parts {
            let (key, parameter) = Self.split(modifier)
            switch key {
            case "clip":
                guard let parameter, parameter > 0 else { throw StrategyError("+clip needs a norm, e.g. +clip=5") }
                strategy = try NormClipping(wrapping: strategy, maxNorm: Float(parameter))
            case "adam":
                optimizer = .adam(learningRate: Float(parameter ?? 0.05))
            case "momentum":
                optimizer = ServerOptimizer(.momentum(learningRate: Float(parameter ?? 1), momentum: 0.9))
            default:
                throw StrategyError("unknown modifier \"+\(key)\": use +clip=NORM, +adam[=LR] or +momentum[=LR]")
            }
        }
        self.text = text
        self.strategy = strategy
        self.optimizer = optimizer
    }

    var description: String { text }

    private static func split(_ part: String) -> (String, Double?) {
        guard let equals = part.firstIndex(of: "=") else { return (part, nil) }
        return (String(part[..<equals]), Double(part[part.index(after: equals)...]))
    }
}

struct StrategyError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
