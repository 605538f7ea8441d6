/// Errors from aggregation: a struct over a private code, so new cases break no caller.
public struct AggregationError: Error, Hashable, CustomStringConvertible {
    private enum Code: Hashable {
        case sizeMismatch(expected: Int, actual: Int)
        case invalidSampleCount(Int)
        case nonFiniteUpdate
        case nonFiniteResult
        case updateTooLarge(norm: Double, limit: Double)
        case storageLimitExceeded(limitBytes: Int)
        case storage(String)
        case invalidConfiguration(String)
        case finished
    }

    private let code: Code

    private init(_ code: Code) { self.code = code }

    /// The update's length differs from the base model's scalar count.
    public static func sizeMismatch(expected: Int, actual: Int) -> AggregationError {
        AggregationError(.sizeMismatch(expected: expected, actual: actual))
    }
    /// A sample count that is zero or negative.
    public static func invalidSampleCount(_ count: Int) -> AggregationError {
        AggregationError(.invalidSampleCount(count))
    }
    /// The update (or its scale) has NaN or infinite values.
    public static var nonFiniteUpdate: AggregationError { AggregationError(.nonFiniteUpdate) }
    /// The aggregate overflowed or met a non-finite value.
    public static var nonFiniteResult: AggregationError { AggregationError(.nonFiniteResult) }
    /// The update's L2 norm is beyond the screen's limit (or overflows): absurdly scaled.
    public static func updateTooLarge(norm: Double, limit: Double) -> AggregationError {
        AggregationError(.updateTooLarge(norm: norm, limit: limit))
    }
    /// Keeping this update would pass the strategy's memory bound.
    public static func storageLimitExceeded(limitBytes: Int) -> AggregationError {
        AggregationError(.storageLimitExceeded(limitBytes: limitBytes))
    }
    /// Reading or writing the spill file failed.
    public static func storage(_ reason: String) -> AggregationError { AggregationError(.storage(reason)) }
    /// A strategy parameter is out of range.
    public static func invalidConfiguration(_ reason: String) -> AggregationError {
        AggregationError(.invalidConfiguration(reason))
    }
    /// `add` or `finish` after `finish`.
    public static var finished: AggregationError { AggregationError(.finished) }

    public var description: String {
        switch code {
        case .sizeMismatch(let expected, let actual): "update has \(actual) values, model has \(expected)"
        case .invalidSampleCount(let count): "invalid sample count \(count)"
        case .nonFiniteUpdate: "update has non-finite values (NaN or infinity)"
        case .nonFiniteResult: "aggregate is not finite"
        case .updateTooLarge(let norm, let limit):
            "update norm \(norm.isFinite ? "\(Float(norm))" : "overflows") exceeds the limit \(Float(limit)): absurdly scaled"
        case .storageLimitExceeded(let limit): "stored updates would exceed \(limit) bytes"
        case .storage(let reason): "update storage: \(reason)"
        case .invalidConfiguration(let reason): "invalid strategy configuration: \(reason)"
        case .finished: "aggregator already finished"
        }
    }
}
