/// Builds a safetensors file deterministically from named tensors and metadata.
///
/// Tensors are laid out densely in the order they were added; the header lists `__metadata__` first
/// (keys sorted), then the tensors in that same order, and is padded with spaces to a multiple of 8 bytes.
public struct SafeTensorsWriter: Sendable {
    private struct Pending: Sendable {
        var name: String
        var dtype: SafeTensorsDType
        var shape: [Int]
        var bytes: [UInt8]
    }

    private var pending: [Pending] = []
    /// The `__metadata__` map written into the header (omitted when empty).
    public var metadata: [String: String] = [:]

    public init(metadata: [String: String] = [:]) {
        self.metadata = metadata
    }

    /// Adds a tensor; `bytes.count` must equal the shape's element count times the dtype width.
    public mutating func add(name: String, dtype: SafeTensorsDType, shape: [Int], bytes: [UInt8]) throws {
        let expected = shape.reduce(dtype.byteWidth, *)
        guard expected == bytes.count, shape.allSatisfy({ $0 >= 0 }) else {
            throw SafeTensorsError.sizeMismatch.with("\(name): \(bytes.count) bytes, shape needs \(expected)")
        }
        guard name != "__metadata__", !pending.contains(where: { $0.name == name }) else {
            throw SafeTensorsError.invalidHeader.with("duplicate or reserved name \(name)")
        }
        pending.append(Pending(name: name, dtype: dtype, shape: shape, bytes: bytes))
    }

    /// Serialises the file.
    public func build() -> [UInt8] {
        var entries: [String] = []
        if !metadata.isEmpty {
            let items = metadata.keys.sorted().map { "\(Self.quoted($0)):\(Self.quoted(metadata[$0] ?? ""))" }
            entries.append("\"__metadata__\":{\(items.joined(separator: ","))}")
        }
        var offset = 0
        for tensor in pending {
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            let end = offset + tensor.bytes.count
            entries.append(
                "\(Self.quoted(tensor.name)):{\"dtype\":\"\(tensor.dtype.rawValue)\",\"shape\":[\(shape)],"
                    + "\"data_offsets\":[\(offset),\(end)]}"
            )
            offset = end
        }
        var header = Array("{\(entries.joined(separator: ","))}".utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var file: [UInt8] = []
        file.reserveCapacity(8 + header.count + offset)
        let length = UInt64(header.count)
        for index in 0..<8 { file.append(UInt8(truncatingIfNeeded: length >> UInt64(8 * index))) }
        file.append(contentsOf: header)
        for tensor in pending { file.append(contentsOf: tensor.bytes) }
        return file
    }

    /// A JSON string literal for `text`.
    static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20:
                result +=
                    "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count)
                    + String(scalar.value, radix: 16)
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}
