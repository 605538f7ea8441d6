/// The checks every client update passes before a strategy counts it: the base model's length, a positive
/// sample count, only finite values, and an L2 norm (after the update's scale) within `maximumNorm`. A device
/// that uploads NaN, infinities or absurdly scaled weights is refused alone, with the reason, and the round
/// goes on with the others. Every aggregator runs the same screen (without a norm limit) on what it is given.
public struct UpdateScreen: Sendable {
    /// The model's scalar count: an update's length.
    public let scalarCount: Int
    /// The largest accepted L2 norm; `.infinity` for no limit.
    public let maximumNorm: Double

    /// An update may move the model by at most this many times the base model's norm (or 1, for a base of
    /// zeros). Honest training moves a model by about its own norm at most; a sign-flipped ×10 update stays
    /// far within it, for the robust strategies to weigh, while 1e30-scaled weights are refused.
    public static let defaultNormFactor = 1000.0

    public init(scalarCount: Int, maximumNorm: Double = .infinity) {
        self.scalarCount = scalarCount
        self.maximumNorm = maximumNorm
    }

    /// A screen for updates to `base`, bounding their norm by `normFactor` × max(‖base‖, 1).
    public init(base: TensorSet, normFactor: Double = Self.defaultNormFactor) {
        var squares: Double = 0
        for tensor in base.tensors {
            squares += tensor.values.withUnsafeBufferPointer { values in
                values.baseAddress.map { VectorKernels.sumOfSquares($0, values.count) } ?? 0
            }
        }
        let baseNorm = squares.squareRoot()
        self.init(
            scalarCount: base.scalarCount,
            maximumNorm: normFactor * (baseNorm.isFinite ? max(baseNorm, 1) : 1)
        )
    }

    /// Checks `update` and returns its L2 norm after its scale; throws `sizeMismatch`, `invalidSampleCount`,
    /// `nonFiniteUpdate` (NaN or ±infinity, in the values or the scale) or `updateTooLarge`.
    @discardableResult
    public func check(_ update: ClientUpdate) throws(AggregationError) -> Double {
        try checkValues(update)
        let squares = update.delta.withUnsafeBufferPointer { values in
            values.baseAddress.map { VectorKernels.sumOfSquares($0, values.count) } ?? 0
        }
        // Finite values whose squares overflow a Float lane are far beyond any limit: report them as too large.
        let norm = squares.squareRoot() * Double(abs(update.scale))
        guard norm.isFinite, norm <= maximumNorm else { throw .updateTooLarge(norm: norm, limit: maximumNorm) }
        return norm
    }

    /// The checks without the norm (one pass, for FedAvg's streaming add): length, sample count, finiteness.
    public func checkValues(_ update: ClientUpdate) throws(AggregationError) {
        guard update.delta.count == scalarCount else {
            throw .sizeMismatch(expected: scalarCount, actual: update.delta.count)
        }
        guard update.sampleCount > 0 else { throw .invalidSampleCount(update.sampleCount) }
        let finite = update.delta.withUnsafeBufferPointer { values in
            values.baseAddress.map { VectorKernels.allFinite($0, values.count) } ?? true
        }
        guard finite, update.scale.isFinite else { throw .nonFiniteUpdate }
    }
}
