import FleetLearning
import FleetModelIO
import Foundation

/// Uploads as devices send them, for the aggregation benchmark's round-path rows: a base model file of about
/// `modelBytes` (one F32 weight matrix and its bias, the layout of `nn.Linear`), and `distinct` trained models
/// that differ from it by a small random step, each encoded as the device would upload it. `aggregate` then does
/// per update what the coordinator does with a `trainUpdate` (RoundRunner): `UpdateCodec.decodeLossless` (apply
/// the FleetDelta patch to the base file, load the trained file, subtract the base) or
/// `UpdateCodec.decodeQuantized`, then `FedAvg`'s `add`, and `finish` at the end.
struct RoundPathUploads {
    enum Encoding: CaseIterable {
        case lossless
        case quantized

        var label: String {
            switch self {
            case .lossless: "decode lossless patch (UpdateCodec)"
            case .quantized: "decode 8-bit update (UpdateCodec)"
            }
        }
    }

    struct Summary: Codable {
        var encoding: String
        var payloadBytes: Int
    }

    let baseFile: [UInt8]
    let base: TensorSet
    let lossless: [[UInt8]]
    let quantized: [[UInt8]]

    init(modelBytes: Int, distinct: Int) throws {
        // rows × (999 weights + 1 bias) scalars: exactly modelBytes for a multiple of 4,000 bytes.
        let columns = 999
        let rows = max(modelBytes / 4 / (columns + 1), 1)
        var generator = SeededGenerator(seed: 7)
        func values(_ count: Int, _ bound: Float) -> [Float] {
            (0..<count).map { _ in generator.nextFloat(symmetric: bound) }
        }
        base = TensorSet([
            try NamedTensor(name: "fc.weight", shape: [rows, columns], values: values(rows * columns, 0.05)),
            try NamedTensor(name: "fc.bias", shape: [rows], values: values(rows, 0.05)),
        ])
        baseFile = try ModelFile.write(base, metadata: [:])
        var lossless: [[UInt8]] = []
        var quantized: [[UInt8]] = []
        for client in 0..<max(distinct, 1) {
            // One local training step's worth of change: about 1 % of the weights' range on every value.
            let trained = TensorSet(
                try base.tensors.map { tensor in
                    try NamedTensor(
                        name: tensor.name,
                        shape: tensor.shape,
                        values: tensor.values.map { $0 + generator.nextFloat(symmetric: 0.0005) }
                    )
                }
            )
            lossless.append(
                try UpdateCodec.encodeLossless(base: baseFile, trained: try ModelFile.write(trained, metadata: [:]))
            )
            quantized.append(try UpdateCodec.encodeQuantized(base: base, trained: trained, seed: UInt64(client)).bytes)
        }
        self.lossless = lossless
        self.quantized = quantized
    }

    var summary: [Summary] {
        [
            Summary(encoding: "lossless", payloadBytes: lossless.map(\.count).reduce(0, +) / lossless.count),
            Summary(encoding: "8-bit", payloadBytes: quantized.map(\.count).reduce(0, +) / quantized.count),
        ]
    }

    /// Decodes and aggregates `updates` uploads (round-robin over the distinct ones); returns the bytes the
    /// aggregator retained at most.
    func aggregate(_ encoding: Encoding, updates: Int) throws -> Int {
        var aggregator = try FedAvg().makeAggregator(base: base, expectedClients: updates)
        var retained = 0
        for k in 0..<updates {
            let delta =
                switch encoding {
                case .lossless:
                    try UpdateCodec.decodeLossless(patch: lossless[k % lossless.count], baseFile: baseFile, base: base)
                case .quantized:
                    try UpdateCodec.decodeQuantized(quantized[k % quantized.count], base: base)
                }
            try aggregator.add(update: ClientUpdate(delta: delta, sampleCount: 10 + k % 50))
            retained = max(retained, aggregator.retainedBytes)
        }
        _ = try aggregator.finish()
        return retained
    }
}
