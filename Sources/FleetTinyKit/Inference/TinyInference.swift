/// Called once per inference (per-query metering, drift accumulation), with the model's input and its answer.
public protocol TinyInferenceMeter {
    mutating func inferenceCompleted(input: UnsafeBufferPointer<Float>, predictedClass: Int, confidence: Float)
}

/// The simplest meter: counts queries, for usage reports.
public struct TinyQueryCounter: TinyInferenceMeter, Sendable {
    public private(set) var queries: UInt64 = 0

    public init() {}

    public mutating func inferenceCompleted(input: UnsafeBufferPointer<Float>, predictedClass: Int, confidence: Float) {
        queries &+= 1
    }
}

/// The class an inference predicts and the softmax probability it gets.
public struct TinyPrediction: Equatable, Sendable {
    public var predictedClass: Int
    public var confidence: Float
}

/// Int8 MLP inference on a model in flash (``TinyModelLayout``): `y = relu(scale_w * (W_q x) + scale_b * b_q)` per
/// layer, ReLU on all but the last, then softmax. Weights are read row by row through a 64-byte buffer; the
/// activations live in the caller's buffer of `2 * layout.widest` floats. Nothing is allocated.
public enum TinyInference {
    /// Runs the model on `input` (`layout.inputs` features, scaled as the model expects) and leaves the softmax
    /// probabilities in `probabilities` (`layout.outputs` floats). `scratch` holds `2 * layout.widest` floats.
    public static func run<Flash: TinyFlash, Meter: TinyInferenceMeter>(
        _ layout: TinyModelLayout,
        flash: Flash,
        input: UnsafeBufferPointer<Float>,
        scratch: UnsafeMutableBufferPointer<Float>,
        probabilities: UnsafeMutableBufferPointer<Float>,
        meter: inout Meter
    ) throws(TinyModelError) -> TinyPrediction {
        let widest = layout.widest
        guard input.count >= layout.inputs, scratch.count >= 2 * widest, probabilities.count >= layout.outputs else {
            throw .tooLarge
        }
        for index in 0..<layout.inputs { scratch[index] = input[index] }
        var source = 0
        for index in 0..<layout.layerCount {
            let target = widest - source
            try dense(layout[index], flash, scratch, from: source, to: target, relu: index < layout.layerCount - 1)
            source = target
        }
        let classes = layout.outputs
        var best = 0
        var largest = scratch[source]
        for index in 1..<max(classes, 1) where scratch[source + index] > largest {
            largest = scratch[source + index]
            best = index
        }
        var sum: Float = 0
        for index in 0..<classes {
            probabilities[index] = exp(scratch[source + index] - largest)
            sum += probabilities[index]
        }
        for index in 0..<classes { probabilities[index] /= sum }
        let prediction = TinyPrediction(predictedClass: best, confidence: probabilities[best])
        meter.inferenceCompleted(input: input, predictedClass: best, confidence: prediction.confidence)
        return prediction
    }

    /// Where in `scratch` the last layer's logits are after ``run`` (the two halves alternate layer by layer).
    public static func logitsOffset(_ layout: TinyModelLayout) -> Int {
        layout.layerCount % 2 == 1 ? layout.widest : 0
    }

    private static func dense<Flash: TinyFlash>(
        _ layer: TinyDenseLayer,
        _ flash: Flash,
        _ scratch: UnsafeMutableBufferPointer<Float>,
        from source: Int,
        to target: Int,
        relu: Bool
    ) throws(TinyModelError) {
        var row = InlineArray<64, Int8>(repeating: 0)
        var biases = InlineArray<64, Int8>(repeating: 0)
        for output in 0..<layer.outputs {
            if output % 64 == 0 {
                let count = min(64, layer.outputs - output)
                let offset = layer.biasOffset + output
                guard
                    withUnsafeMutableBytes(
                        of: &biases,
                        { flash.read(at: offset, into: .init(rebasing: $0[0..<count])) }
                    )
                else { throw .unreadable }
            }
            var sum: Float = 0
            var input = 0
            while input < layer.inputs {
                let count = min(64, layer.inputs - input)
                let offset = layer.weightOffset + output * layer.inputs + input
                guard withUnsafeMutableBytes(of: &row, { flash.read(at: offset, into: .init(rebasing: $0[0..<count])) })
                else { throw .unreadable }
                for index in 0..<count { sum += Float(row[index]) * scratch[source + input + index] }
                input += count
            }
            let value = sum * layer.weightScale + Float(biases[output % 64]) * layer.biasScale
            scratch[target + output] = relu ? max(value, 0) : value
        }
    }

    /// `e^x` for Float without libm: `2^n * e^r` with `|r| <= ln 2 / 2` and a degree-6 Taylor polynomial (relative
    /// error below 2e-7 over the range that does not underflow; large negative inputs give 0).
    static func exp(_ x: Float) -> Float {
        guard x > -87 else { return 0 }
        let clamped = min(x, 88)
        let n = (clamped * 1.442_695_04).rounded()
        let r = clamped - n * 0.693_145_75 - n * 1.428_606_8e-6
        var p: Float = 1.0 / 720
        p = p * r + 1.0 / 120
        p = p * r + 1.0 / 24
        p = p * r + 1.0 / 6
        p = p * r + 0.5
        p = p * r + 1
        p = p * r + 1
        return p * Float(bitPattern: UInt32(Int32(n) + 127) << 23)
    }
}
