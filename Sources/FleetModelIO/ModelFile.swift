import FleetDelta
import FleetLearning
import Foundation

/// Model weights files (safetensors, PyTorch `nn.Linear` layout) to and from FleetLearning's tensors.
///
/// F32 tensors load as they are. An I8 tensor `name` is dequantised with its F32 scalar `name_scale`
/// (`w = q · scale`, per-tensor symmetric), as the int8 variants of the reference models store them.
/// The model's input scaling travels in the metadata key `feature-scale` (e.g. `0.0625` for pixels 0–16).
public enum ModelFile {
    public struct Loaded: Sendable {
        public var tensors: TensorSet
        public var metadata: [String: String]
        /// The dtype each tensor had in the file (`F32`, `I8`).
        public var dtypes: [String: String]

        /// How raw input rows are scaled before the model (metadata `feature-scale`: a factor, or `auto`).
        public var inputScaling: InputScaling { InputScaling(metadata: metadata["feature-scale"]) }
    }

    public static func load(_ bytes: [UInt8]) throws -> Loaded {
        let file = try SafeTensorsFile.parse(bytes)
        var tensors: [NamedTensor] = []
        var dtypes: [String: String] = [:]
        for tensor in file.tensors
        where !tensor.name.hasSuffix("_scale") || file.tensor(named: String(tensor.name.dropLast(6))) == nil {
            let data = file.data(of: tensor)
            let values: [Float]
            switch tensor.dtype {
            case .f32:
                values = floats(data)
            case .i8:
                guard let scaleTensor = file.tensor(named: tensor.name + "_scale"), scaleTensor.dtype == .f32,
                    let scale = floats(file.data(of: scaleTensor)).first
                else { throw ModelFileError("I8 tensor \(tensor.name) has no F32 \(tensor.name)_scale") }
                values = data.map { Float(Int8(bitPattern: $0)) * scale }
            default:
                throw ModelFileError(
                    "tensor \(tensor.name) has dtype \(tensor.dtype.rawValue); F32 and I8 are supported"
                )
            }
            tensors.append(try NamedTensor(name: tensor.name, shape: tensor.shape, values: values))
            dtypes[tensor.name] = tensor.dtype.rawValue
        }
        return Loaded(tensors: TensorSet(tensors), metadata: file.metadata, dtypes: dtypes)
    }

    /// Writes F32 tensors in the given order, deterministically.
    public static func write(_ tensors: TensorSet, metadata: [String: String]) throws -> [UInt8] {
        var writer = SafeTensorsWriter(metadata: metadata)
        for tensor in tensors.tensors {
            var bytes: [UInt8] = []
            bytes.reserveCapacity(tensor.values.count * 4)
            for value in tensor.values {
                withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
            }
            try writer.add(name: tensor.name, dtype: .f32, shape: tensor.shape, bytes: bytes)
        }
        return writer.build()
    }

    /// The MLP in a weights file.
    public static func mlp(_ bytes: [UInt8]) throws -> (MLP, Loaded) {
        let loaded = try load(bytes)
        return (try MLP(parameters: loaded.tensors), loaded)
    }

    static func floats(_ bytes: ArraySlice<UInt8>) -> [Float] {
        var values: [Float] = []
        values.reserveCapacity(bytes.count / 4)
        var index = bytes.startIndex
        while index + 4 <= bytes.endIndex {
            let bits =
                UInt32(bytes[index]) | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2]) << 16
                | UInt32(bytes[index + 3]) << 24
            values.append(Float(bitPattern: bits))
            index += 4
        }
        return values
    }
}

/// A weights file that is not a supported model.
public struct ModelFileError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
