import Foundation

/// The few dense kernels the trainer and inference share. Row-major buffers; inner loops run over
/// contiguous memory with no data-dependent branches so the optimiser can vectorise them. Zero inputs
/// (blank pixels, dead ReLUs) are skipped, which halves the work on typical data.
enum Dense {
    /// `output[r, o] = bias[o] + Σᵢ input[r, i]·weight[o, i]`, then ReLU if asked.
    /// `transposed` is scratch of `inputs·outputs` floats receiving Wᵀ.
    static func forward(
        input: UnsafePointer<Float>,
        rows: Int,
        inputs: Int,
        weight: UnsafePointer<Float>,
        bias: UnsafePointer<Float>,
        outputs: Int,
        transposed: UnsafeMutablePointer<Float>,
        output: UnsafeMutablePointer<Float>,
        relu: Bool
    ) {
        for o in 0..<outputs {
            for i in 0..<inputs { transposed[i * outputs + o] = weight[o * inputs + i] }
        }
        for r in 0..<rows {
            let x = input + r * inputs
            let y = output + r * outputs
            for o in 0..<outputs { y[o] = bias[o] }
            for i in 0..<inputs {
                let xi = x[i]
                if xi == 0 { continue }
                let column = transposed + i * outputs
                for o in 0..<outputs { y[o] += xi * column[o] }
            }
            if relu {
                for o in 0..<outputs { y[o] = max(y[o], 0) }
            }
        }
    }

    /// Accumulates `weightGradient[o, i] += Σ_r delta[r, o]·input[r, i]` and `biasGradient[o] += Σ_r delta[r, o]`.
    static func accumulateGradients(
        delta: UnsafePointer<Float>,
        input: UnsafePointer<Float>,
        rows: Int,
        inputs: Int,
        outputs: Int,
        weightGradient: UnsafeMutablePointer<Float>,
        biasGradient: UnsafeMutablePointer<Float>
    ) {
        for r in 0..<rows {
            let x = input + r * inputs
            for o in 0..<outputs {
                let g = delta[r * outputs + o]
                if g == 0 { continue }
                biasGradient[o] += g
                let row = weightGradient + o * inputs
                for i in 0..<inputs { row[i] += g * x[i] }
            }
        }
    }

    /// `inputDelta[r, i] = (Σ_o delta[r, o]·weight[o, i]) · [activation[r, i] > 0]` (backprop through ReLU).
    static func propagate(
        delta: UnsafePointer<Float>,
        weight: UnsafePointer<Float>,
        activation: UnsafePointer<Float>,
        rows: Int,
        inputs: Int,
        outputs: Int,
        inputDelta: UnsafeMutablePointer<Float>
    ) {
        for r in 0..<rows {
            let d = inputDelta + r * inputs
            for i in 0..<inputs { d[i] = 0 }
            for o in 0..<outputs {
                let g = delta[r * outputs + o]
                if g == 0 { continue }
                let row = weight + o * inputs
                for i in 0..<inputs { d[i] += g * row[i] }
            }
            let a = activation + r * inputs
            for i in 0..<inputs where a[i] <= 0 { d[i] = 0 }
        }
    }

    /// Softmax of each row of `logits` in place (numerically stable).
    static func softmax(_ logits: UnsafeMutablePointer<Float>, rows: Int, classes: Int) {
        for r in 0..<rows {
            let z = logits + r * classes
            var peak = z[0]
            for c in 1..<classes { peak = max(peak, z[c]) }
            var sum: Float = 0
            for c in 0..<classes {
                z[c] = exp(z[c] - peak)
                sum += z[c]
            }
            for c in 0..<classes { z[c] /= sum }
        }
    }
}
