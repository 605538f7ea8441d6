// The kit's framing and leaf messages against Protocol/vectors and, with random field values, against FleetWire.
import FleetLearning
import FleetWire
import Foundation
import Testing

@testable import FleetTinyKit

@Suite struct LeafWireTests {
    struct Vector: Decodable {
        var name: String
        var frameHex: String
        var message: Message
    }

    static let vectors = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Protocol/vectors")

    static let sent = [
        "hello", "enrol", "authenticate", "heartbeat", "goodbye", "stateReport", "fetchModel", "modelReport",
        "quotaSync",
    ]
    static let received = [
        "helloAccept", "welcome", "error", "busy", "heartbeatAck", "ack", "desiredState", "transferStart",
        "transferChunk", "quotaGrants",
    ]

    static func vector(_ name: String) throws -> Vector {
        try JSONDecoder().decode(Vector.self, from: Data(contentsOf: vectors.appendingPathComponent("\(name).json")))
    }

    @Test(arguments: sent)
    func kitEncodesTheVector(name: String) throws {
        let vector = try Self.vector(name)
        let frame = try #require(try LeafWire.kitFrame(vector.message))
        #expect(frame == CryptoTestBytes.fromHex(vector.frameHex))
    }

    @Test(arguments: received)
    func kitDecodesTheVector(name: String) throws {
        let vector = try Self.vector(name)
        let decoded = try #require(try LeafWire.kitDecode(CryptoTestBytes.fromHex(vector.frameHex)))
        #expect(decoded == vector.message)
    }

    @Test func otherDefinedTypesAreSkippedAndUnknownTypesRefused() throws {
        let trainTask = try Self.vector("trainTask")
        #expect(try LeafWire.kitDecode(CryptoTestBytes.fromHex(trainTask.frameHex)) == nil)
        #expect(throws: TinyWireError.unknownMessageType) { try LeafWire.kitDecode([0, 0, 0, 1, 0x7E]) }
    }

    @Test func randomMessagesMatchFleetWireBothWays() throws {
        var generator = SeededGenerator(seed: 0x1eaf)
        for _ in 0..<400 {
            for message in RandomLeafMessages.sent(&generator) {
                #expect(try LeafWire.kitFrame(message) == LeafWire.fleetWireFrame(message), "\(message.type)")
            }
            for message in RandomLeafMessages.received(&generator) {
                #expect(try LeafWire.kitDecode(LeafWire.fleetWireFrame(message)) == message, "\(message.type)")
            }
        }
    }

    @Test func malformedPayloadsAreRefusedLikeFleetWire() throws {
        var generator = SeededGenerator(seed: 0xbad)
        var refusedByBoth = 0
        for _ in 0..<3000 {
            let message = RandomLeafMessages.received(&generator).randomElement(using: &generator)!
            var frame = LeafWire.fleetWireFrame(message)
            // Flip, cut or extend: the kit refuses exactly what FleetWire refuses, and agrees on what both accept.
            switch generator.next() % 3 {
            case 0:
                let index = 5 + Int(generator.next() % UInt64(max(frame.count - 5, 1)))
                if index < frame.count { frame[index] ^= UInt8(truncatingIfNeeded: generator.next() | 1) }
            case 1:
                let cut = Int(generator.next() % UInt64(max(frame.count - 5, 1)))
                frame.removeLast(cut)
            default:
                frame.append(UInt8(truncatingIfNeeded: generator.next()))
            }
            let length = UInt32(frame.count - 4)
            frame[0] = UInt8(length >> 24)
            frame[1] = UInt8((length >> 16) & 0xFF)
            frame[2] = UInt8((length >> 8) & 0xFF)
            frame[3] = UInt8(length & 0xFF)
            let reference = try? Message(frame: Frame(type: frame[4], payload: .init(bytes: frame[5...])))
            let kit = Result { try LeafWire.kitDecode(frame) }
            switch (reference, kit) {
            case (nil, .failure): refusedByBoth += 1
            case (let reference?, .success(let decoded)):
                if let decoded { #expect(decoded == reference) }
            case (nil, .success(let decoded)):
                // FleetWire also refuses map keys equal under Unicode canonical equivalence; the kit checks bytes only.
                Issue.record("the kit accepted what FleetWire refused: \(String(describing: decoded))")
            case (let reference?, .failure(let error)):
                Issue.record("the kit refused (\(error)) what FleetWire accepted: \(reference)")
            }
        }
        #expect(refusedByBoth > 1000)
    }

    @Test func frameLengthIsCheckedBeforeTheFrameIsBuffered() throws {
        var storage = [UInt8](repeating: 0, count: 4 + 1024)
        try storage.withUnsafeMutableBytes { buffer in
            var reader = TinyFrameReader(buffer: buffer)
            // Only the 4 length bytes of a frame announcing 2^31: refused at once, nothing else read.
            _ = [UInt8]([0x80, 0, 0, 0]).withUnsafeBytes { reader.append($0) }
            #expect(throws: TinyWireError.frameTooLarge) { try reader.next() }
            reader.reset()
            _ = [UInt8]([0, 0, 0, 0]).withUnsafeBytes { reader.append($0) }
            #expect(throws: TinyWireError.emptyFrame) { try reader.next() }
            // Two frames in one read, the second split: both come out, in order.
            reader.reset()
            let two: [UInt8] = [0, 0, 0, 1, 0x11, 0, 0, 0, 2, 0x13]
            _ = two.withUnsafeBytes { reader.append($0) }
            #expect(try reader.next()?.type == 0x11)
            #expect(try reader.next() == nil)
            _ = [UInt8]([0x05]).withUnsafeBytes { reader.append($0) }
            let ack = try #require(try reader.next())
            #expect(ack.type == 0x13 && Array(ack.payload) == [5])
        }
    }
}
