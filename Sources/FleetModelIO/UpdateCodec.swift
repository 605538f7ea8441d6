import FleetDelta
import FleetLearning
import Foundation

/// How a device's training result travels, and how the coordinator turns it back into an update
/// (trained − base, flattened in the base's tensor order).
///
/// - lossless: a FleetDelta patch from the base file to the trained file (`Protocol/DELTA.md`);
/// - quantised: for each tensor in order, its scale (F32, little endian), then one signed byte per value
///   (`update = q · scale`, 8 bits with stochastic rounding, see `UpdateQuantizer`).
public enum UpdateCodec {
    /// Encodes a trained model as a lossless patch against its base file.
    public static func encodeLossless(base: [UInt8], trained: [UInt8]) throws -> [UInt8] {
        try DeltaCodec.encode(old: base, new: trained)
    }

    /// Encodes `trained − base` quantised to 8 bits per value.
    public static func encodeQuantized(
        base: TensorSet,
        trained: TensorSet,
        seed: UInt64
    ) throws -> (bytes: [UInt8], report: QuantizationReport) {
        let delta = try trained.delta(from: base)
        let (update, report) = try UpdateQuantizer.quantize(delta, ranges: base.flatRanges, seed: seed)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(update.byteCount)
        for segment in update.segments {
            withUnsafeBytes(of: segment.scale.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
            bytes.append(contentsOf: segment.values.map { UInt8(bitPattern: $0) })
        }
        return (bytes, report)
    }

    /// Decodes a lossless patch: applies it to the base file (bounded by the base's size, since a trained
    /// model has the base's layout) and returns the flattened update.
    public static func decodeLossless(patch: [UInt8], baseFile: [UInt8], base: TensorSet) throws -> [Float] {
        let trainedFile = try DeltaCodec.apply(
            old: baseFile,
            patch: patch,
            limits: DeltaLimits(maximumOutputSize: baseFile.count + 4096)
        )
        let trained = try ModelFile.load(trainedFile).tensors
        guard trained.names == base.names, trained.shapes == base.shapes else {
            throw ModelFileError("the trained model's tensors do not match the base model's")
        }
        return try trained.delta(from: base)
    }

    /// Decodes a quantised update whose layout is the base's.
    public static func decodeQuantized(_ bytes: [UInt8], base: TensorSet) throws -> [Float] {
        let ranges = base.flatRanges
        guard bytes.count == base.scalarCount + 4 * ranges.count else {
            throw ModelFileError(
                "quantised update of \(bytes.count) bytes, expected \(base.scalarCount + 4 * ranges.count)"
            )
        }
        var delta = [Float](repeating: 0, count: base.scalarCount)
        var offset = 0
        for range in ranges {
            let bits =
                UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16 | UInt32(
                    bytes[offset + 3]
                ) << 24
            let scale = Float(bitPattern: bits)
            guard scale.isFinite else { throw ModelFileError("quantised update has a non-finite scale") }
            offset += 4
            for index in range {
                delta[index] = Float(Int8(bitPattern: bytes[offset])) * scale
                offset += 1
            }
        }
        return delta
    }
}
