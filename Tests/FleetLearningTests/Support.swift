import FleetLearning
import Foundation

/// Shared fixtures for the tests.
enum Fixtures {
    static func url(_ name: String) throws -> URL {
        guard let url = Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures") else {
            throw FixtureError(message: "missing fixture \(name)")
        }
        return url
    }

    /// digits.csv with pixels scaled to 0…1.
    static func digits() throws -> Dataset {
        try CSVDatasetReader(featureScale: 1 / 16, classCount: 10).read(contentsOf: url("digits.csv"))
    }

    /// A one-tensor base model of `count` zeros.
    static func flatBase(_ count: Int) throws -> TensorSet {
        TensorSet([try NamedTensor(name: "w", shape: [count], values: [Float](repeating: 0, count: count))])
    }
}

struct FixtureError: Error {
    var message: String
}

/// Whether the slow, full-size checks should run (`FLEET_SLOW_TESTS=1`).
let slowTestsEnabled = ProcessInfo.processInfo.environment["FLEET_SLOW_TESTS"] == "1"

/// A minimal safetensors reader for the model fixtures (the product's parser lives in FleetDelta): an 8-byte
/// little-endian header length, a JSON header, then raw little-endian tensor bytes. F32 and I8 only.
enum TestSafetensors {
    struct Entry {
        var name: String
        var dtype: String
        var shape: [Int]
        var offset: Int
        var bytes: Data
    }

    static func read(_ url: URL) throws -> [Entry] {
        let data = try Data(contentsOf: url)
        guard data.count >= 8 else { throw FixtureError(message: "short file") }
        let headerLength = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        guard headerLength > 0, 8 + headerLength <= data.count else { throw FixtureError(message: "bad header length") }
        let header = data.subdata(in: 8..<(8 + headerLength))
        guard let json = try JSONSerialization.jsonObject(with: header) as? [String: Any] else {
            throw FixtureError(message: "header is not an object")
        }
        let payload = data.subdata(in: (8 + headerLength)..<data.count)
        var entries = [Entry]()
        for (name, value) in json where name != "__metadata__" {
            guard let info = value as? [String: Any], let dtype = info["dtype"] as? String,
                let shape = info["shape"] as? [Int], let offsets = info["data_offsets"] as? [Int], offsets.count == 2,
                offsets[0] <= offsets[1], offsets[1] <= payload.count
            else { throw FixtureError(message: "bad entry \(name)") }
            entries.append(
                Entry(
                    name: name,
                    dtype: dtype,
                    shape: shape,
                    offset: offsets[0],
                    bytes: payload.subdata(in: offsets[0]..<offsets[1])
                )
            )
        }
        // Keep the file's data order, which is the writer's tensor order.
        return entries.sorted { $0.offset < $1.offset }
    }

    static func floats(_ data: Data) -> [Float] {
        stride(from: 0, to: data.count, by: 4).map { offset in
            let bits = (0..<4).reduce(UInt32(0)) { $0 | UInt32(data[data.startIndex + offset + $1]) << (8 * $1) }
            return Float(bitPattern: bits)
        }
    }

    /// An fp32 model file as a tensor set.
    static func fp32Model(_ url: URL) throws -> TensorSet {
        TensorSet(
            try read(url).map { entry in
                guard entry.dtype == "F32" else { throw FixtureError(message: "\(entry.name) is \(entry.dtype)") }
                return try NamedTensor(name: entry.name, shape: entry.shape, values: floats(entry.bytes))
            }
        )
    }

    /// An int8 model file (I8 tensors plus F32 `<name>_scale` scalars) as quantised tensors.
    static func int8Model(_ url: URL) throws -> [QuantizedTensor] {
        let entries = try read(url)
        let scales = Dictionary(
            entries.filter { $0.name.hasSuffix("_scale") }.map { ($0.name, floats($0.bytes).first ?? 0) }
        ) { first, _ in first }
        return try entries.filter { !$0.name.hasSuffix("_scale") }.map { entry in
            guard entry.dtype == "I8", let scale = scales[entry.name + "_scale"] else {
                throw FixtureError(message: "\(entry.name): \(entry.dtype) without scale")
            }
            return QuantizedTensor(
                name: entry.name,
                shape: entry.shape,
                values: entry.bytes.map { Int8(bitPattern: $0) },
                scale: scale
            )
        }
    }
}
