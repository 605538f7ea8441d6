import FleetWire
import NIOCore
import NIOEmbedded
import Testing

@testable import FleetAgent

/// How the gateway frames a serial line (SPEC 15b.6): frames split anywhere arrive whole; a bad length loses sync,
/// and bytes are discarded until the line has been quiet; a frame whose bytes stop is dropped once it is quiet.
@Suite struct SerialFrameHandlerTests {
    func line() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(SerialFrameHandler(maximumFrameLength: 65536))
        return channel
    }

    func frames(_ messages: [Message]) -> [UInt8] {
        messages.flatMap { Array($0.encodedFrame().readableBytesView) }
    }

    func feed(_ channel: EmbeddedChannel, _ bytes: some Collection<UInt8>) throws {
        try channel.writeInbound(ByteBuffer(bytes: Array(bytes)))
    }

    /// Everything the handler passed on so far, as messages or lost-sync reasons.
    func events(_ channel: EmbeddedChannel) throws -> [String] {
        var seen: [String] = []
        while let event = try channel.readInbound(as: SerialLineEvent.self) {
            switch event {
            case .frame(let frame): seen.append("\(try Message(frame: frame).type)")
            case .lostSync(let reason): seen.append("lost: \(reason)")
            }
        }
        return seen
    }

    @Test func framesSplitAtEveryByteArriveWhole() throws {
        let channel = try line()
        let bytes = frames([.heartbeat, .goodbye, .heartbeatAck])
        for byte in bytes { try feed(channel, [byte]) }
        #expect(try events(channel) == ["heartbeat", "goodbye", "heartbeatAck"])
        #expect(try channel.finish().isClean)
    }

    @Test func aBadLengthLosesSyncAndBytesAreDroppedUntilTheLineIsQuiet() throws {
        let channel = try line()
        try feed(channel, frames([.heartbeat]) + [0, 0, 0, 0] + frames([.heartbeat]))
        let first = try events(channel)
        #expect(first.count == 2 && first[0] == "heartbeat" && first[1].hasPrefix("lost: "), "\(first)")
        // Still discarding: a well-formed frame in the same noisy spell is dropped too.
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(400))
        try feed(channel, frames([.goodbye]))
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(400))
        #expect(try events(channel).isEmpty)
        // Quiet for the whole silence: framing again.
        channel.embeddedEventLoop.advanceTime(by: SerialFrameHandler.silence)
        try feed(channel, frames([.goodbye]))
        #expect(try events(channel) == ["goodbye"])
    }

    @Test func aLengthOverTheLimitIsRefusedBeforeItsBytesAreKept() throws {
        let channel = try line()
        try feed(channel, [0x00, 0x01, 0x00, 0x01] + [UInt8](repeating: 0xAA, count: 10_000))
        let seen = try events(channel)
        #expect(seen.count == 1 && seen[0].contains("exceeds the maximum of 65536"), "\(seen)")
    }

    @Test func aFrameWhoseBytesStopIsDroppedOnceTheLineIsQuiet() throws {
        let channel = try line()
        let heartbeat = frames([.heartbeat])
        try feed(channel, frames([.goodbye]) + [0, 0])  // half a length
        #expect(try events(channel) == ["goodbye"])
        channel.embeddedEventLoop.advanceTime(by: SerialFrameHandler.silence)
        let lost = try events(channel)
        #expect(lost.count == 1 && lost[0] == "lost: a frame stopped after 2 bytes", "\(lost)")
        // The next frame starts cleanly (the two stale bytes are gone).
        try feed(channel, heartbeat)
        #expect(try events(channel) == ["heartbeat"])
    }
}
