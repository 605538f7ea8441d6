import Foundation

/// The agent's running drift summary for the current window: bins each observation with the reference statistics.
/// Keep one per model version; ``drain(windowEnd:)`` hands over the window and starts the next.
public struct DriftAccumulator: Sendable {
    public let reference: ReferenceStatistics
    private var summary: DriftSummary

    public init(reference: ReferenceStatistics, windowStart: Date) {
        self.reference = reference
        summary = DriftSummary(empty: reference, windowStart: windowStart, windowEnd: windowStart)
    }

    /// Observations so far in this window.
    public var sampleCount: UInt32 { summary.sampleCount }

    /// Counts one inference: its input features, and the predicted class and confidence when known.
    /// Counts saturate at `UInt32.max`.
    public mutating func observe(features: [Float], predictedClass: Int?, confidence: Float?) throws(ObserveError) {
        guard features.count == reference.features.count else {
            throw .shapeMismatch("\(features.count) features, the reference has \(reference.features.count)")
        }
        if let predictedClass, !summary.classCounts.indices.contains(predictedClass) {
            throw .shapeMismatch("class \(predictedClass) outside 0..<\(summary.classCounts.count)")
        }
        for (index, value) in features.enumerated() {
            Self.increment(&summary.featureCounts[index][reference.features[index].bin(of: value)])
        }
        if let predictedClass { Self.increment(&summary.classCounts[predictedClass]) }
        if let confidence, !summary.confidenceCounts.isEmpty {
            Self.increment(
                &summary.confidenceCounts[ReferenceStatistics.confidenceBin(confidence, bins: reference.confidenceBins)]
            )
        }
        Self.increment(&summary.sampleCount)
    }

    /// The finished window, ending at `windowEnd`; counting restarts from zero with `windowEnd` as the new start.
    public mutating func drain(windowEnd: Date = Date()) -> DriftSummary {
        var finished = summary
        finished.windowEnd = windowEnd
        summary = DriftSummary(empty: reference, windowStart: windowEnd, windowEnd: windowEnd)
        return finished
    }

    private static func increment(_ count: inout UInt32) {
        if count < .max { count += 1 }
    }
}
