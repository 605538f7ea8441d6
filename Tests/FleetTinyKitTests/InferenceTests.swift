// Int8 MLP inference on the installed model, read from flash: the same answers as the host's inference of the same
// file (FleetModelIO + FleetLearning), and the drift counts of FleetObserve.
import FleetLearning
import FleetModelIO
import FleetObserve
import Foundation
import Testing

@testable import FleetTinyKit

@Suite struct InferenceTests {
    /// The digits test split (450 rows of 64 pixels 0...16) scaled to 0...1, as the digits models were trained.
    static func digitsTestRows() throws -> [[Float]] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../FleetLearningTests/Fixtures/digits.csv")
        let data = try CSVDatasetReader(featureScale: 1 / 16, classCount: 10).read(contentsOf: url)
        let test = try data.filter(column: "split", equals: "test")
        return (0..<test.count).map { Array(test.row($0)) }
    }

    /// Installs `model` on a simulated leaf and parses its layout from flash.
    static func installed(_ model: [UInt8]) throws -> (InstallBench, TinyModelLayout) {
        let bench = InstallBench(slotBytes: 60_000)
        try bench.install(model, encoding: .full, model: InstallFixtures.record(model, version: 1))
        let record = try #require(bench.store.active(bench.flash))
        let layout = try TinyModelLayout(
            flash: bench.flash,
            offset: bench.store.offset(ofSlot: record.slot),
            length: record.length
        )
        return (bench, layout)
    }

    @Test(arguments: ["digits-mlp-v1-int8", "digits-mlp-v2-int8", "digits-mlp-v3-int8"])
    func classesAndProbabilitiesMatchTheHost(name: String) throws {
        let model = try InstallFixtures.model(name)
        let (bench, layout) = try Self.installed(model)
        #expect(layout.layerCount == 3 && layout.inputs == 64 && layout.outputs == 10 && layout.widest == 256)
        let (mlp, _) = try ModelFile.mlp(model)
        let rows = try Self.digitsTestRows()
        #expect(rows.count == 450 && rows.allSatisfy { $0.count == 64 })
        let host = try mlp.predict(rows: rows)
        let loaded = try ModelFile.load(model)
        var scratch = [Float](repeating: 0, count: 2 * layout.widest)
        var probabilities = [Float](repeating: 0, count: 10)
        var counter = TinyQueryCounter()
        var largestLogitError: Double = 0
        for (row, expected) in zip(rows, host) {
            let prediction = try Self.run(layout, bench.flash, row, &scratch, &probabilities, &counter)
            #expect(prediction.predictedClass == expected.label)
            for (mine, theirs) in zip(probabilities, expected.probabilities) { #expect(abs(mine - theirs) < 1e-5) }
            let logits = Self.referenceLogits(loaded.tensors, row)
            let offset = TinyInference.logitsOffset(layout)
            for (index, logit) in logits.enumerated() {
                largestLogitError = max(largestLogitError, abs(Double(scratch[offset + index]) - logit))
            }
        }
        #expect(counter.queries == 450)
        // Float32 accumulation against a Double reference of the same int8 weights: far below one quantisation step
        // of the last layer (its weight scale, about 4e-3).
        #expect(largestLogitError < 1e-4, "largest logit error \(largestLogitError)")
        let accuracy = Double(zip(host, try Self.labels()).count { $0.label == $1 }) / Double(rows.count)
        #expect(accuracy > 0.85, "accuracy \(accuracy)")
    }

    /// One inference of `row` on the model in `flash`.
    static func run<Meter: TinyInferenceMeter>(
        _ layout: TinyModelLayout,
        _ flash: SimulatedFlash,
        _ row: [Float],
        _ scratch: inout [Float],
        _ probabilities: inout [Float],
        _ meter: inout Meter
    ) throws -> TinyPrediction {
        try row.withUnsafeBufferPointer { input in
            try scratch.withUnsafeMutableBufferPointer { scratch in
                try probabilities.withUnsafeMutableBufferPointer { probabilities in
                    try TinyInference.run(
                        layout,
                        flash: flash,
                        input: input,
                        scratch: scratch,
                        probabilities: probabilities,
                        meter: &meter
                    )
                }
            }
        }
    }

    static func labels() throws -> [Int] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../FleetLearningTests/Fixtures/digits.csv")
        let data = try CSVDatasetReader(featureScale: 1 / 16, classCount: 10).read(contentsOf: url)
        return try data.filter(column: "split", equals: "test").labels
    }

    /// The logits in Double from the dequantised weights (`w = q * scale`).
    static func referenceLogits(_ tensors: TensorSet, _ row: [Float]) -> [Double] {
        var activations = row.map(Double.init)
        for layer in 1...3 {
            let weight = tensors.tensors.first { $0.name == "fc\(layer).weight" }!
            let bias = tensors.tensors.first { $0.name == "fc\(layer).bias" }!
            let (outputs, inputs) = (weight.shape[0], weight.shape[1])
            activations = (0..<outputs).map { output in
                var sum = Double(bias.values[output])
                for input in 0..<inputs { sum += Double(weight.values[output * inputs + input]) * activations[input] }
                return layer < 3 ? max(sum, 0) : sum
            }
        }
        return activations
    }

    /// The drift histogram counts what FleetObserve's accumulator counts for the same rows and answers.
    @Test func driftHistogramMatchesFleetObserve() throws {
        let model = try InstallFixtures.model("digits-mlp-v2-int8")
        let (bench, layout) = try Self.installed(model)
        let rows = try Self.digitsTestRows()
        let reference = try ReferenceStatistics.compute(
            features: Array(rows.prefix(200)),
            predictions: nil,
            confidences: nil,
            bins: 10,
            classCount: 10
        )
        var accumulator = DriftAccumulator(reference: reference, windowStart: Date(timeIntervalSince1970: 0))
        let cuts = reference.features.flatMap(\.cuts)
        let cutCounts = reference.features.map { UInt16($0.cuts.count) }
        var counts = [UInt32](repeating: 0, count: cuts.count + cutCounts.count + 10 + reference.confidenceBins)
        var scratch = [Float](repeating: 0, count: 2 * layout.widest)
        var probabilities = [Float](repeating: 0, count: 10)
        try cuts.withUnsafeBufferPointer { cuts in
            try cutCounts.withUnsafeBufferPointer { cutCounts in
                try counts.withUnsafeMutableBufferPointer { counts in
                    var histogram = try #require(
                        TinyDriftHistogram(
                            cuts: cuts,
                            cutCounts: cutCounts,
                            classes: 10,
                            confidenceBins: reference.confidenceBins,
                            counts: counts
                        )
                    )
                    for row in rows {
                        let prediction = try Self.run(
                            layout,
                            bench.flash,
                            row,
                            &scratch,
                            &probabilities,
                            &histogram
                        )
                        try accumulator.observe(
                            features: row,
                            predictedClass: prediction.predictedClass,
                            confidence: prediction.confidence
                        )
                    }
                    #expect(histogram.samples == 450)
                }
            }
        }
        let summary = accumulator.drain(windowEnd: Date(timeIntervalSince1970: 1))
        let expected = summary.featureCounts.flatMap { $0 } + summary.classCounts + summary.confidenceCounts
        #expect(counts == expected)
        #expect(summary.featureCounts.flatMap { $0 }.first { $0 > 0 && $0 < 450 } != nil)
    }

    /// Headers that are not an int8 MLP, or malformed, are refused with a typed error (no crash, no allocation).
    @Test func refusesOtherModelsAndMalformedHeaders() throws {
        let fp32 = try InstallFixtures.model("digits-mlp-v1-fp32")
        let bench = InstallBench(slotBytes: 210_000)
        try bench.install(fp32, encoding: .full, model: InstallFixtures.record(fp32, version: 1))
        #expect(throws: TinyModelError.notAnInt8MLP) {
            try TinyModelLayout(flash: bench.flash, offset: bench.store.offset(ofSlot: 0), length: fp32.count)
        }
        let int8 = try InstallFixtures.model("digits-mlp-v1-int8")
        var generator = FleetLearning.SeededGenerator(seed: 9)
        for _ in 0..<300 {
            var broken = int8
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                broken[Int.random(in: 8..<1000, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            }
            let bench = InstallBench(slotBytes: 60_000)
            try bench.install(broken, encoding: .full, model: InstallFixtures.record(broken, version: 1))
            do {
                let layout = try TinyModelLayout(
                    flash: bench.flash,
                    offset: bench.store.offset(ofSlot: 0),
                    length: broken.count
                )
                #expect(layout.layerCount >= 1)
            } catch {
                #expect([.malformedHeader, .notAnInt8MLP, .tooLarge].contains(error))
            }
        }
    }
}
