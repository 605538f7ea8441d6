import FleetWire
import NIOCore
import NIOEmbedded
import NIOTestUtils
import Testing

@Suite struct FrameDecoderTests {
    func makeChannel(maximum: Int = 1024) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(
            ByteToMessageHandler(FrameDecoder(maximumFrameLength: maximum), maximumBufferSize: maximum * 2)
        )
        try channel.pipeline.syncOperations.addHandler(MessageDecoderHandler())
        return channel
    }

    func frames(_ messages: [Message]) -> ByteBuffer {
        var buffer = ByteBuffer()
        for message in messages { message.encodeFrame(into: &buffer) }
        return buffer
    }

    @Test func decodesWholeFrames() throws {
        let channel = try makeChannel()
        let messages: [Message] = [.heartbeat, .ack(Ack(requestID: 300)), .heartbeatAck]
        try channel.writeInbound(frames(messages))
        for expected in messages {
            #expect(try channel.readInbound(as: Message.self) == expected)
        }
        #expect(try channel.readInbound(as: Message.self) == nil)
        #expect(try channel.finish().isClean)
    }

    @Test func decodesFramesSplitAtEveryByte() throws {
        let channel = try makeChannel()
        let messages = SampleMessages.all.keys.sorted().compactMap { SampleMessages.all[$0] }
            .filter { $0.encodedFrame().readableBytes < 1024 }
        var all = frames(messages)
        while let byte = all.readSlice(length: 1) {
            try channel.writeInbound(byte)
        }
        for expected in messages {
            #expect(try channel.readInbound(as: Message.self) == expected)
        }
        #expect(try channel.finish().isClean)
    }

    @Test func partialFrameWaitsForTheRest() throws {
        let channel = try makeChannel()
        var whole = frames([.ack(Ack(requestID: 1))])
        let head = whole.readSlice(length: 5) ?? ByteBuffer()
        try channel.writeInbound(head)
        #expect(try channel.readInbound(as: Message.self) == nil)
        try channel.writeInbound(whole)
        #expect(try channel.readInbound(as: Message.self) == .ack(Ack(requestID: 1)))
        #expect(try channel.finish().isClean)
    }

    @Test func verifierAcceptsDecoder() throws {
        let inputs: [(ByteBuffer, [Frame])] = [Message.heartbeat, .ack(Ack(requestID: 9))].map { message in
            var payload = ByteBuffer()
            message.payload.write(to: &payload)
            return (message.encodedFrame(), [Frame(type: message.type.rawValue, payload: payload)])
        }
        try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: inputs) {
            FrameDecoder(maximumFrameLength: 1024)
        }
    }

    @Test func maliciousLengthIsRefusedBeforeBuffering() throws {
        let channel = try makeChannel(maximum: 1024)
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt32.max)
        buffer.writeInteger(MessageType.heartbeat.rawValue)
        #expect(throws: FleetWireError.frameTooLarge(length: UInt32.max, maximum: 1024)) {
            try channel.writeInbound(buffer)
        }
        _ = try? channel.finish()
    }

    @Test func lengthJustOverMaximumIsRefused() throws {
        var decoder = FrameDecoder(maximumFrameLength: 16)
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt32(17))
        #expect(throws: FleetWireError.frameTooLarge(length: 17, maximum: 16)) { try decoder.decode(buffer: &buffer) }
        var exact = ByteBuffer()
        exact.writeInteger(UInt32(16))
        exact.writeRepeatingByte(0x13, count: 16)
        #expect(try decoder.decode(buffer: &exact)?.payload.readableBytes == 15)
    }

    @Test func emptyFrameIsRefused() throws {
        var decoder = FrameDecoder()
        var buffer = ByteBuffer(bytes: [0, 0, 0, 0])
        #expect(throws: FleetWireError.emptyFrame) { try decoder.decode(buffer: &buffer) }
    }

    @Test func unknownTypeIsRefused() throws {
        let channel = try makeChannel()
        #expect(throws: FleetWireError.unknownMessageType(0xEE)) {
            try channel.writeInbound(ByteBuffer(bytes: [0, 0, 0, 1, 0xEE]))
        }
        _ = try? channel.finish()
    }

    @Test func truncatedPayloadIsRefused() throws {
        // An Ack whose varint request id is cut in the middle.
        let frame = Frame(type: MessageType.ack.rawValue, payload: ByteBuffer(bytes: [0x80]))
        #expect(throws: FleetWireError.truncated("requestID")) { try Message(frame: frame) }
    }

    @Test func trailingBytesAreRefused() throws {
        let frame = Frame(type: MessageType.heartbeat.rawValue, payload: ByteBuffer(bytes: [0]))
        #expect(throws: FleetWireError.trailingBytes(1)) { try Message(frame: frame) }
    }

    @Test func overlongVarintIsRefused() throws {
        let frame = Frame(type: MessageType.ack.rawValue, payload: ByteBuffer(bytes: Array(repeating: 0xFF, count: 11)))
        #expect(throws: FleetWireError.malformedVarint) { try Message(frame: frame) }
    }

    @Test func hugeCountsAreRefusedWithoutAllocating() throws {
        // A device list claiming 2^62 devices in a 12-byte payload.
        var payload = ByteBuffer()
        payload.writeVarint(UInt64(1))
        payload.writeVarint(UInt64(1))
        payload.writeVarint(UInt64(1) << 62)
        let frame = Frame(type: MessageType.deviceList.rawValue, payload: payload)
        #expect(throws: FleetWireError.truncated("devices")) { try Message(frame: frame) }
    }

    @Test func hugeStringLengthIsRefused() throws {
        var payload = ByteBuffer()
        payload.writeVarint(UInt64(Int32.max))
        let frame = Frame(type: MessageType.welcome.rawValue, payload: payload)
        #expect(throws: FleetWireError.truncated("deviceID")) { try Message(frame: frame) }
    }

    @Test func invalidUTF8IsRefused() throws {
        let frame = Frame(type: MessageType.welcome.rawValue, payload: ByteBuffer(bytes: [2, 0xC3, 0x28, 0]))
        #expect(throws: FleetWireError.invalidUTF8("deviceID")) { try Message(frame: frame) }
    }

    @Test func garbageNeverCrashes() throws {
        var generator = SplitMix64(seed: 42)
        for _ in 0..<2_000 {
            let length = Int(generator.next() % 64)
            let bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            var decoder = FrameDecoder(maximumFrameLength: 64)
            var buffer = ByteBuffer(bytes: bytes)
            do {
                while let frame = try decoder.decode(buffer: &buffer) {
                    _ = try? Message(frame: frame)
                }
            } catch is FleetWireError {
                // expected for most garbage
            }
        }
    }

    @Test func mutatedVectorsGiveTypedErrorsOrMessages() throws {
        var generator = SplitMix64(seed: 7)
        for message in SampleMessages.all.values {
            var payload = ByteBuffer()
            message.payload.write(to: &payload)
            let bytes = Array(payload.readableBytesView)
            // startRollout's optional trailing group (SPEC 5.28a): cut just before it, the rest is the older
            // layout, a whole message with the group's absent values.
            var withoutGroup: StartRollout?
            if case .startRollout(var request) = message, request.hasTrailingGroup {
                request.maximumRestartIncrease = StartRollout.absentTrailingGroup.restarts
                request.maximumLatencyIncreasePercent = StartRollout.absentTrailingGroup.latency
                request.deviceTimeoutMilliseconds = StartRollout.absentTrailingGroup.timeout
                withoutGroup = request
            }
            let olderLayout = withoutGroup.map { request in
                var buffer = ByteBuffer()
                request.write(to: &buffer)
                return buffer.readableBytes
            }
            for cut in 0..<bytes.count {
                let frame = Frame(type: message.type.rawValue, payload: ByteBuffer(bytes: bytes[0..<cut]))
                if cut == olderLayout, let withoutGroup {
                    #expect(try Message(frame: frame) == .startRollout(withoutGroup))
                    continue
                }
                #expect(throws: FleetWireError.self) { try Message(frame: frame) }
            }
            for _ in 0..<50 where !bytes.isEmpty {
                var mutated = bytes
                mutated[Int(generator.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: generator.next())
                do {
                    _ = try Message(frame: Frame(type: message.type.rawValue, payload: ByteBuffer(bytes: mutated)))
                } catch is FleetWireError {}
            }
        }
    }
}

struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
