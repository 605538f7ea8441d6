/// A lossy 8-bit form of a flat update: per tensor, one scale and one signed byte per value
/// (`value ≈ q·scale`, q in −127…127).
public struct QuantizedUpdate: Sendable, Equatable {
    public struct Segment: Sendable, Equatable {
        public var scale: Float
        public var values: [Int8]

        public init(scale: Float, values: [Int8]) {
            self.scale = scale
            self.values = values
        }
    }

    public var segments: [Segment]

    public init(segments: [Segment]) {
        self.segments = segments
    }

    public var scalarCount: Int { segments.reduce(0) { $0 + $1.values.count } }
    /// Payload bytes: one per value plus a 4-byte scale per tensor.
    public var byteCount: Int { scalarCount + 4 * segments.count }

    /// The update as floats, flat, in the original order.
    public func dequantized() -> [Float] {
        var flat = [Float]()
        flat.reserveCapacity(scalarCount)
        for segment in segments {
            let scale = segment.scale
            for q in segment.values { flat.append(Float(q) * scale) }
        }
        return flat
    }
}

/// Bytes an upload takes with and without quantisation.
public struct QuantizationReport: Sendable, Equatable {
    public var originalBytes: Int
    public var quantizedBytes: Int
    public var bytesSaved: Int { originalBytes - quantizedBytes }
    /// `quantizedBytes / originalBytes`.
    public var ratio: Double { originalBytes == 0 ? 1 : Double(quantizedBytes) / Double(originalBytes) }
}

/// 8-bit quantisation of updates with a per-tensor scale and stochastic rounding, the optional lossy upload
/// mode. `scale = max|x| / 127`; each value becomes ⌊x/scale + u⌋ with u uniform in [0, 1), so the expected
/// dequantised value equals the original (unbiased) and rounding errors average out across clients.
public enum UpdateQuantizer {
    /// Quantises `delta` with one scale per range (use `TensorSet.flatRanges` for per-tensor scales).
    public static func quantize(
        _ delta: [Float],
        ranges: [Range<Int>],
        seed: UInt64
    ) throws(AggregationError) -> (update: QuantizedUpdate, report: QuantizationReport) {
        guard ranges.reduce(0, { $0 + $1.count }) == delta.count,
            ranges.allSatisfy({ $0.lowerBound >= 0 && $0.upperBound <= delta.count })
        else {
            throw .sizeMismatch(expected: ranges.reduce(0) { $0 + $1.count }, actual: delta.count)
        }
        var generator = SeededGenerator(seed: seed)
        var segments = [QuantizedUpdate.Segment]()
        segments.reserveCapacity(ranges.count)
        for range in ranges {
            var peak: Float = 0
            for i in range { peak = max(peak, abs(delta[i])) }
            guard peak.isFinite, !delta[range].contains(where: \.isNaN) else { throw .nonFiniteUpdate }
            guard peak > 0 else {
                segments.append(.init(scale: 0, values: [Int8](repeating: 0, count: range.count)))
                continue
            }
            let scale = peak / 127
            let inverse = 127 / peak
            var values = [Int8](repeating: 0, count: range.count)
            for (k, i) in range.enumerated() {
                let scaled = (delta[i] * inverse + generator.nextUnitFloat()).rounded(.down)
                values[k] = Int8(min(max(scaled, -127), 127))
            }
            segments.append(.init(scale: scale, values: values))
        }
        let update = QuantizedUpdate(segments: segments)
        return (update, QuantizationReport(originalBytes: delta.count * 4, quantizedBytes: update.byteCount))
    }

    /// Quantises with one scale for each tensor of `layout`.
    public static func quantize(
        _ delta: [Float],
        layout: TensorSet,
        seed: UInt64
    ) throws(AggregationError) -> (update: QuantizedUpdate, report: QuantizationReport) {
        try quantize(delta, ranges: layout.flatRanges, seed: seed)
    }
}
