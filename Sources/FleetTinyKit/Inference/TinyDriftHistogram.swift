/// The drift-summary counts of Protocol/DRIFT-SUMMARY.md accumulated on the device, in the integrator's buffers:
/// per feature, bin `i` = the number of the feature's cuts `<= x` (NaN in bin 0), as `FleetObserve.FeatureBins`;
/// the predicted class; and `confidenceBins` equal-width confidence bins over 0...1 (clamped, NaN and <= 0 in bin 0).
///
/// `cuts` holds every feature's cuts one feature after the other (ascending within a feature), `cutCounts[f]` how many
/// feature `f` has; `counts` must hold `sum(cutCounts[f] + 1) + classes + confidenceBins` counters, laid out
/// feature bins, then classes, then confidence bins (the order of the summary's encoding).
/// Internal until a program calls it: the leaf does not send drift reports yet.
struct TinyDriftHistogram: TinyInferenceMeter {
    private let cuts: UnsafeBufferPointer<Float>
    private let cutCounts: UnsafeBufferPointer<UInt16>
    private let counts: UnsafeMutableBufferPointer<UInt32>
    private let classes: Int
    private let confidenceBins: Int
    private let featureBinTotal: Int
    /// Observations counted since the last ``reset()``.
    private(set) var samples: UInt32 = 0

    /// Nil when `counts` is too small, a count array is empty, or the cuts do not add up.
    init?(
        cuts: UnsafeBufferPointer<Float>,
        cutCounts: UnsafeBufferPointer<UInt16>,
        classes: Int,
        confidenceBins: Int,
        counts: UnsafeMutableBufferPointer<UInt32>
    ) {
        var totalCuts = 0
        for count in cutCounts { totalCuts += Int(count) }
        let featureBins = totalCuts + cutCounts.count
        guard totalCuts == cuts.count, classes > 0, confidenceBins > 0,
            counts.count >= featureBins + classes + confidenceBins
        else { return nil }
        self.cuts = cuts
        self.cutCounts = cutCounts
        self.counts = counts
        self.classes = classes
        self.confidenceBins = confidenceBins
        featureBinTotal = featureBins
        reset()
    }

    /// Zeroes every counter (the start of a reporting window).
    mutating func reset() {
        for index in 0..<(featureBinTotal + classes + confidenceBins) { counts[index] = 0 }
        samples = 0
    }

    mutating func inferenceCompleted(input: UnsafeBufferPointer<Float>, predictedClass: Int, confidence: Float) {
        var cutStart = 0
        var binStart = 0
        for feature in 0..<min(cutCounts.count, input.count) {
            let featureCuts = Int(cutCounts[feature])
            let value = input[feature]
            var low = 0
            if !value.isNaN {
                var high = featureCuts
                while low < high {
                    let middle = (low + high) / 2
                    if cuts[cutStart + middle] <= value { low = middle + 1 } else { high = middle }
                }
            }
            increment(binStart + low)
            cutStart += featureCuts
            binStart += featureCuts + 1
        }
        if predictedClass >= 0, predictedClass < classes { increment(featureBinTotal + predictedClass) }
        var bin = 0
        if confidence.isFinite, confidence > 0 {
            bin = min(confidenceBins - 1, Int(confidence * Float(confidenceBins)))
        }
        increment(featureBinTotal + classes + bin)
        if samples < UInt32.max { samples += 1 }
    }

    /// Counter `index` (feature bins, then classes, then confidence bins).
    func count(at index: Int) -> UInt32 { counts[index] }

    private func increment(_ index: Int) {
        if counts[index] < UInt32.max { counts[index] += 1 }
    }
}
