/// Decodes the body of a tensor-mode patch (DELTA.md, "Tensor mode").
struct TensorDeltaDecoder {
    let old: SafeTensorsFile
    let limits: DeltaLimits

    /// Rebuilds the new file from `reader` (positioned after the fixed header) and the rest of `patch`.
    func decode(patch: [UInt8], reader: inout ByteReader) throws -> [UInt8] {
        let header = try HeaderDelta.decode(
            old: old.headerBytes,
            reader: &reader,
            maximumLength: min(limits.maximumHeaderSize, limits.maximumOutputSize)
        )
        let layout: (tensors: [SafeTensor], dataSize: Int)
        do {
            layout = try SafeTensorsFile.layout(
                ofHeader: header[...],
                limits: SafeTensorsLimits(maximumHeaderSize: limits.maximumHeaderSize)
            )
        } catch let error as SafeTensorsError {
            throw DeltaError.corrupt.with("new header: \(error)")
        }
        let (total, overflow) = (8 + header.count).addingReportingOverflow(layout.dataSize)
        guard !overflow, total <= limits.maximumOutputSize else {
            throw DeltaError.outputTooLarge.with("patch declares \(layout.dataSize) data bytes")
        }
        var output = [UInt8](repeating: 0, count: total)
        for index in 0..<8 { output[index] = UInt8(truncatingIfNeeded: UInt64(header.count) >> UInt64(8 * index)) }
        output.replaceSubrange(8..<(8 + header.count), with: header)

        let sectionLength = try reader.readLength(atMost: reader.remaining)
        var section = ByteReader(patch, offset: reader.offset, end: reader.offset + sectionLength)
        var decoder = RangeDecoder(patch, offset: reader.offset + sectionLength)
        let plan = TensorPlan(old: old, newTensors: layout.tensors)
        var models = TensorModels()
        for index in plan.order {
            let tensor = plan.newTensors[index]
            let bytes = try decodeTensor(tensor, plan: plan, output: output, &section, &decoder, &models)
            guard bytes.count == tensor.range.count else { throw DeltaError.corrupt.with("size of \(tensor.name)") }
            output.replaceSubrange(tensor.range, with: bytes)
        }
        guard section.remaining == 0 else { throw DeltaError.corrupt.with("unused bytes in the byte section") }
        return output
    }

    private func decodeTensor(
        _ tensor: SafeTensor,
        plan: TensorPlan,
        output: [UInt8],
        _ section: inout ByteReader,
        _ decoder: inout RangeDecoder,
        _ models: inout TensorModels
    ) throws -> [UInt8] {
        let pair = plan.pair(of: tensor)
        if let pair {
            var unchanged: UInt32 = 0
            decoder.code(&unchanged, &models.unchanged)
            if unchanged == 1 { return Array(old.data(of: pair)) }
        }
        var method = TensorMethod.raw
        models.codeMethod(&method, &decoder)
        let size = tensor.range.count
        switch method {
        case .model:
            guard let pair, TensorDeltaEncoder.hasModel(tensor.dtype) else {
                throw DeltaError.corrupt.with("no model for \(tensor.name)")
            }
            return try decodeModel(tensor, pair: pair, plan: plan, output: output, &decoder, &models)
        case .zlib:
            var code: UInt32 = 0
            decoder.codeDirect(&code, count: 2)
            guard let transform = ByteTransform(rawValue: code), pair != nil || !transform.needsOld else {
                throw DeltaError.corrupt.with("transform \(code) for \(tensor.name)")
            }
            let length = try section.readLength(atMost: section.remaining)
            let inflated = try Zlib.decompress(try section.readBytes(length), maximumSize: size, format: .raw)
            guard inflated.count == size else { throw DeltaError.corrupt.with("inflated size of \(tensor.name)") }
            let oldData = pair.map { old.data(of: $0) } ?? []
            return transform.inverse(inflated, old: oldData, width: tensor.dtype.byteWidth)
        case .raw:
            return Array(try section.readBytes(size))
        case .generic:
            let length = try section.readLength(atMost: section.remaining)
            return try GenericDelta.decode(
                old: old.bytes[...],
                payload: try section.readBytes(length),
                outputSize: size
            )
        }
    }

    private func decodeModel(
        _ tensor: SafeTensor,
        pair: SafeTensor,
        plan: TensorPlan,
        output: [UInt8],
        _ decoder: inout RangeDecoder,
        _ models: inout TensorModels
    ) throws -> [UInt8] {
        let oldData = old.data(of: pair)
        let columns = TensorPlan.columns(of: tensor)
        if tensor.dtype == .f32 {
            var bytes = [UInt8](repeating: 0, count: tensor.range.count)
            let valid = bytes.withUnsafeMutableBytes {
                models.float32.code(old: oldData, new: $0, columns: columns, &decoder)
            }
            guard valid else { throw DeltaError.corrupt.with("difference out of range in \(tensor.name)") }
            return bytes
        }
        let ratio = plan.rescaleRatio(for: tensor, oldBytes: old.bytes, newBytes: output)
        var rescaled: UInt32 = 0
        if ratio != nil { decoder.code(&rescaled, &models.rescaled) }
        let signed = tensor.dtype == .i8
        var values = [UInt8](repeating: 0, count: tensor.elementCount)
        let valid = models.bytes.code(
            old: oldData,
            values: &values,
            signed: signed,
            predictions: ByteModel.predictions(signed: signed, ratio: rescaled == 1 ? ratio : nil),
            columns: columns,
            &decoder
        )
        guard valid else { throw DeltaError.corrupt.with("value out of range in \(tensor.name)") }
        return values
    }
}
