/// Encodes the body of a tensor-mode patch (DELTA.md, "Tensor mode").
struct TensorDeltaEncoder {
    let old: SafeTensorsFile
    let new: SafeTensorsFile
    let options: DeltaOptions

    private struct Choice {
        var method: TensorMethod
        var statsMethod: DeltaStats.Method
        var transform: ByteTransform = .plain
        var payload: [UInt8] = []
        var rescaled = false
        var bytes: Int
    }

    /// Appends the header delta, byte section and range-coded stream; returns per-tensor stats.
    func encode(into writer: inout ByteWriter) throws -> [DeltaStats.Tensor] {
        try HeaderDelta.encode(old: old.headerBytes, new: new.headerBytes, into: &writer)
        let plan = TensorPlan(old: old, newTensors: new.tensors)
        var models = TensorModels()
        var encoder = RangeEncoder()
        var section = ByteWriter()
        var stats: [DeltaStats.Tensor] = []
        for index in plan.order {
            let tensor = plan.newTensors[index]
            let pair = plan.pair(of: tensor)
            let newData = new.data(of: tensor)
            var record = DeltaStats.Tensor(
                name: tensor.name,
                dtype: tensor.dtype.rawValue,
                elementCount: tensor.elementCount,
                method: .unchanged,
                bytes: 0
            )
            if let pair {
                var unchanged: UInt32 = old.data(of: pair) == newData ? 1 : 0
                encoder.code(&unchanged, &models.unchanged)
                if unchanged == 1 {
                    stats.append(record)
                    continue
                }
            }
            let choice = try choose(tensor, pair: pair, plan: plan, models: models)
            var method = choice.method
            models.codeMethod(&method, &encoder)
            switch choice.method {
            case .model:
                if let pair {
                    try codeModel(tensor, pair: pair, plan: plan, rescaled: choice.rescaled, &models, &encoder)
                }
            case .zlib:
                var transform = choice.transform.rawValue
                encoder.codeDirect(&transform, count: 2)
                section.writeVarint(choice.payload.count)
                section.write(choice.payload)
            case .raw:
                section.write(newData)
            case .generic:
                section.writeVarint(choice.payload.count)
                section.write(choice.payload)
            }
            record.method = choice.statsMethod
            record.bytes = choice.bytes
            stats.append(record)
        }
        writer.writeVarint(section.bytes.count)
        writer.write(section.bytes)
        writer.write(encoder.finish())
        return stats
    }

    /// Picks the cheapest method for a changed tensor.
    private func choose(
        _ tensor: SafeTensor,
        pair: SafeTensor?,
        plan: TensorPlan,
        models: TensorModels
    ) throws
        -> Choice
    {
        let newData = new.data(of: tensor)
        var best = Choice(method: .raw, statsMethod: .raw, bytes: newData.count)
        if let pair, options.allowEntropyModels, Self.hasModel(tensor.dtype) {
            var rescaleOptions = [false]
            if plan.rescaleRatio(for: tensor, oldBytes: old.bytes, newBytes: new.bytes) != nil {
                rescaleOptions.append(true)
            }
            for rescaled in rescaleOptions {
                var trial = models
                var meter = CostMeter()
                try codeModel(tensor, pair: pair, plan: plan, rescaled: rescaled, &trial, &meter)
                if meter.bytes < best.bytes {
                    best = Choice(
                        method: .model,
                        statsMethod: rescaled ? .modelRescaled : .model,
                        rescaled: rescaled,
                        bytes: meter.bytes
                    )
                }
            }
        }
        let oldData = pair.map { old.data(of: $0) } ?? []
        for transform in ByteTransform.allCases where pair != nil || !transform.needsOld {
            let transformed = transform.forward(new: newData, old: oldData, width: tensor.dtype.byteWidth)
            let payload = try Zlib.compress(transformed, level: options.zlibLevel, format: .raw)
            let bytes = payload.count + Self.varintSize(payload.count)
            if bytes < best.bytes {
                let statsMethod: DeltaStats.Method =
                    switch transform {
                    case .plain: .zlibPlain
                    case .xorPlanes: .zlibXor
                    case .subtractPlanes: .zlibSubtract
                    }
                best = Choice(
                    method: .zlib,
                    statsMethod: statsMethod,
                    transform: transform,
                    payload: payload,
                    bytes: bytes
                )
            }
        }
        if pair == nil, newData.count >= 64 {
            let payload = try GenericDelta.encode(old: old.bytes[...], new: newData, level: options.zlibLevel)
            let bytes = payload.count + Self.varintSize(payload.count)
            if bytes < best.bytes {
                best = Choice(method: .generic, statsMethod: .generic, payload: payload, bytes: bytes)
            }
        }
        return best
    }

    private func codeModel<C: BinaryCoder>(
        _ tensor: SafeTensor,
        pair: SafeTensor,
        plan: TensorPlan,
        rescaled: Bool,
        _ models: inout TensorModels,
        _ coder: inout C
    ) throws {
        let oldData = old.data(of: pair)
        let newData = new.data(of: tensor)
        let columns = TensorPlan.columns(of: tensor)
        var valid = true
        switch tensor.dtype {
        case .f32:
            var copy = Array(newData)
            valid = copy.withUnsafeMutableBytes { models.float32.code(old: oldData, new: $0, columns: columns, &coder) }
        default:
            let ratio = plan.rescaleRatio(for: tensor, oldBytes: old.bytes, newBytes: new.bytes)
            if ratio != nil {
                var flag: UInt32 = rescaled ? 1 : 0
                coder.code(&flag, &models.rescaled)
            }
            let signed = tensor.dtype == .i8
            let predictions = ByteModel.predictions(signed: signed, ratio: rescaled ? ratio : nil)
            var values = Array(newData)
            valid = models.bytes.code(
                old: oldData,
                values: &values,
                signed: signed,
                predictions: predictions,
                columns: columns,
                &coder
            )
        }
        guard valid else { throw DeltaError.corrupt.with("model cannot represent \(tensor.name)") }
    }

    static func hasModel(_ dtype: SafeTensorsDType) -> Bool { dtype == .f32 || dtype == .i8 || dtype == .u8 }

    static func varintSize(_ value: Int) -> Int {
        var size = 1
        var rest = value >> 7
        while rest > 0 {
            size += 1
            rest >>= 7
        }
        return size
    }
}
