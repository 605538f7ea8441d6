import FleetLearning
import Testing

@Suite struct QuantizationTests {
    @Test func stochasticRoundingIsUnbiased() throws {
        var generator = SeededGenerator(seed: 3)
        let delta = (0..<64).map { _ in generator.nextFloat(symmetric: 0.05) } + [0.05]
        let layout = TensorSet([
            try NamedTensor(name: "a", shape: [40], values: [Float](repeating: 0, count: 40)),
            try NamedTensor(name: "b", shape: [25], values: [Float](repeating: 0, count: 25)),
        ])
        let draws = 2_000
        var sums = [Double](repeating: 0, count: delta.count)
        var report: QuantizationReport?
        for draw in 0..<draws {
            let (update, bytes) = try UpdateQuantizer.quantize(delta, layout: layout, seed: UInt64(draw))
            for (i, value) in update.dequantized().enumerated() { sums[i] += Double(value) }
            report = bytes
        }
        // Each value's mean over the draws is within a few standard errors of the original; the rounding
        // step is scale = max|x|/127, so one draw's error is below one step.
        let step = 0.05 / 127
        for (i, sum) in sums.enumerated() {
            let mean = sum / Double(draws)
            #expect(abs(mean - Double(delta[i])) < 4 * step / Double(draws).squareRoot() + 1e-7)
        }
        #expect(report?.originalBytes == 65 * 4)
        #expect(report?.quantizedBytes == 65 + 2 * 4)
        #expect(report?.bytesSaved == 65 * 4 - 73)
    }

    @Test func oneDrawStaysWithinOneStep() throws {
        let delta: [Float] = [0.5, -0.25, 0, 1e-4, -1]
        let (update, _) = try UpdateQuantizer.quantize(delta, ranges: [0..<5], seed: 1)
        let step: Float = 1 / 127
        for (a, b) in zip(update.dequantized(), delta) { #expect(abs(a - b) <= step * 1.0001) }
        #expect(update.segments[0].values[4] == -127)
        #expect(update.segments[0].values[2] == 0)
    }

    @Test func zeroAndNonFiniteTensors() throws {
        let (zero, _) = try UpdateQuantizer.quantize([0, 0, 0], ranges: [0..<3], seed: 1)
        #expect(zero.dequantized() == [0, 0, 0])
        #expect(throws: AggregationError.nonFiniteUpdate) {
            try UpdateQuantizer.quantize([1, .nan], ranges: [0..<2], seed: 1)
        }
        #expect(throws: AggregationError.self) { try UpdateQuantizer.quantize([1, 2], ranges: [0..<1], seed: 1) }
    }
}
