import FleetWire
import Foundation
import NIOCore
import Testing

/// Each file in `Protocol/vectors/` holds a message's fields (JSON) and its exact frame bytes (hex).
/// Decoding the bytes must give the fields, and encoding the fields must give the bytes.
/// `FLEET_REGENERATE_VECTORS=1 swift test --filter GoldenVector` rewrites them from `SampleMessages`.
@Suite struct GoldenVectorTests {
    struct Vector: Codable {
        var name: String
        var type: UInt8
        var frameHex: String
        var message: Message
    }

    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Protocol/vectors")

    static func hex(_ buffer: ByteBuffer) -> String {
        buffer.readableBytesView.map { String(format: "%02x", $0) }.joined()
    }

    static func bytes(hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex, let next = hex.index(index, offsetBy: 2, limitedBy: hex.endIndex) {
            out.append(UInt8(hex[index..<next], radix: 16) ?? 0)
            index = next
        }
        return out
    }

    @Test func everyMessageTypeHasASample() {
        let sampled = Set(SampleMessages.all.values.map(\.type))
        #expect(sampled == Set(MessageType.allCases))
    }

    @Test(arguments: SampleMessages.all.keys.sorted())
    func vectorRoundTrips(name: String) throws {
        let sample = try #require(SampleMessages.all[name])
        let url = Self.directory.appendingPathComponent("\(name).json")
        if ProcessInfo.processInfo.environment["FLEET_REGENERATE_VECTORS"] == "1" {
            let vector = Vector(
                name: name,
                type: sample.type.rawValue,
                frameHex: Self.hex(sample.encodedFrame()),
                message: sample
            )
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try FileManager.default.createDirectory(at: Self.directory, withIntermediateDirectories: true)
            try (encoder.encode(vector) + Data("\n".utf8)).write(to: url)
        }
        let vector = try JSONDecoder().decode(Vector.self, from: Data(contentsOf: url))
        #expect(vector.message == sample, "the vector file's fields match the sample")

        // bytes -> message
        var buffer = ByteBuffer(bytes: Self.bytes(hex: vector.frameHex))
        var decoder = FrameDecoder(maximumFrameLength: Frame.absoluteMaximumLength)
        let frame = try #require(try decoder.decode(buffer: &buffer))
        #expect(buffer.readableBytes == 0)
        #expect(frame.type == vector.type)
        #expect(try Message(frame: frame) == vector.message)

        // message -> bytes
        #expect(Self.hex(vector.message.encodedFrame()) == vector.frameHex)
    }
}
