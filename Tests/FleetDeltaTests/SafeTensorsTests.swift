import Testing

@testable import FleetDelta

@Suite("Safetensors parsing")
struct SafeTensorsTests {
    /// A file with `header` as its JSON header and `dataSize` zero bytes of data.
    func file(header: String, dataSize: Int, declaredLength: UInt64? = nil) -> [UInt8] {
        let json = Array(header.utf8)
        let length = declaredLength ?? UInt64(json.count)
        return (0..<8).map { UInt8(truncatingIfNeeded: length >> UInt64(8 * $0)) } + json
            + [UInt8](repeating: 0, count: dataSize)
    }

    @Test("parses the real fixtures")
    func parsesFixtures() throws {
        let parsed = try SafeTensorsFile.parse(try fixture("digits-mlp-v1-int8"))
        #expect(parsed.tensors.count == 12)
        #expect(parsed.metadata["variant"] == "int8")
        let weight = try #require(parsed.tensor(named: "fc1.weight"))
        #expect(weight.dtype == .i8)
        #expect(weight.shape == [256, 64])
        #expect(parsed.data(of: weight).count == 16_384)
    }

    @Test("a file is validated from its header and size alone, as parsing the whole file does")
    func layoutFromHeaderAndSize() throws {
        let bytes = try fixture("digits-mlp-v1-fp32")
        let length = try SafeTensorsFile.headerLength(prefix: bytes.prefix(8), fileSize: bytes.count)
        let header = bytes[8..<(8 + length)]
        let (tensors, metadata) = try SafeTensorsFile.layout(header: header, fileSize: bytes.count)
        let parsed = try SafeTensorsFile.parse(bytes)
        #expect(tensors == parsed.tensors && metadata == parsed.metadata)
        // The data section must be covered exactly: one byte short or one byte over is refused.
        #expect(throws: SafeTensorsError.offsetsOutOfRange) {
            try SafeTensorsFile.layout(header: header, fileSize: bytes.count - 1)
        }
        #expect(throws: SafeTensorsError.gap) { try SafeTensorsFile.layout(header: header, fileSize: bytes.count + 1) }
        // A text file's first 8 bytes, read as a length, are over the bound: refused before anything is allocated.
        let text = Array("this is not a model!!!\n\n".utf8)
        #expect(throws: SafeTensorsError.headerTooLarge) {
            try SafeTensorsFile.headerLength(prefix: text.prefix(8), fileSize: text.count)
        }
        #expect(throws: SafeTensorsError.truncated) {
            try SafeTensorsFile.headerLength(prefix: bytes.prefix(8), fileSize: length)
        }
    }

    @Test("writer output parses back, deterministically")
    func writerRoundTrip() throws {
        var writer = SafeTensorsWriter(metadata: ["b": "2", "a": "quote\"d"])
        try writer.add(name: "w", dtype: .f16, shape: [2, 3], bytes: Array(0..<12))
        try writer.add(name: "s", dtype: .bool, shape: [], bytes: [1])
        let bytes = writer.build()
        #expect(bytes == writer.build())
        let parsed = try SafeTensorsFile.parse(bytes)
        #expect(parsed.tensors.map(\.name) == ["w", "s"])
        #expect(parsed.metadata == ["a": "quote\"d", "b": "2"])
        #expect(parsed.headerBytes.count % 8 == 0)
        #expect(throws: SafeTensorsError.sizeMismatch) {
            try writer.add(name: "x", dtype: .f32, shape: [2], bytes: [1])
        }
    }

    @Test("rejects malformed files with typed errors")
    func rejects() {
        let cases: [(String, [UInt8], SafeTensorsError)] = [
            ("short", [1, 2, 3], .truncated),
            ("header past end", file(header: "{}", dataSize: 0, declaredLength: 100), .truncated),
            ("huge header", file(header: "{}", dataSize: 0, declaredLength: 1 << 40), .headerTooLarge),
            ("not json", file(header: "{nope", dataSize: 0), .invalidHeader),
            ("not object", file(header: "[1]", dataSize: 0), .invalidHeader),
            (
                "bool offset", file(header: #"{"a":{"dtype":"U8","shape":[1],"data_offsets":[false,1]}}"#, dataSize: 1),
                .invalidHeader
            ),
            (
                "fraction", file(header: #"{"a":{"dtype":"U8","shape":[1.5],"data_offsets":[0,1]}}"#, dataSize: 1),
                .invalidHeader
            ),
            (
                "negative", file(header: #"{"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,1]}}"#, dataSize: 1),
                .invalidHeader
            ),
            (
                "unknown dtype", file(header: #"{"a":{"dtype":"Q4","shape":[1],"data_offsets":[0,1]}}"#, dataSize: 1),
                .unknownDType
            ),
            (
                "size mismatch", file(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#, dataSize: 4),
                .sizeMismatch
            ),
            (
                "out of range", file(header: #"{"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}}"#, dataSize: 4),
                .offsetsOutOfRange
            ),
            (
                "reversed", file(header: #"{"a":{"dtype":"U8","shape":[0],"data_offsets":[4,0]}}"#, dataSize: 4),
                .offsetsOutOfRange
            ),
            (
                "overlap",
                file(
                    header:
                        #"{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}}"#,
                    dataSize: 6
                ), .overlap
            ),
            ("gap", file(header: #"{"a":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}}"#, dataSize: 4), .gap),
            ("trailing", file(header: #"{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}"#, dataSize: 4), .gap),
            (
                "shape overflow",
                file(
                    header: #"{"a":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,8]}}"#,
                    dataSize: 8
                ),
                .sizeMismatch
            ),
        ]
        for (label, bytes, expected) in cases {
            #expect(throws: expected, "\(label)") { try SafeTensorsFile.parse(bytes) }
        }
    }

    @Test("header size limit is configurable")
    func headerLimit() {
        let bytes = file(header: "{}      ", dataSize: 0)
        #expect(throws: SafeTensorsError.headerTooLarge) {
            try SafeTensorsFile.parse(bytes, limits: SafeTensorsLimits(maximumHeaderSize: 4))
        }
    }
}
