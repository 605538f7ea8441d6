import FleetWire
import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// Raw connections for hostile-client tests: each sends what the test wants and records, by type, what the
/// coordinator answers. Cheap enough to hold thousands at once.
final class AnswerLog: Sendable {
    private let answers = Mutex<[Message]>([])

    func record(_ message: Message) { answers.withLock { $0.append(message) } }

    var all: [Message] { answers.withLock { $0 } }
    var busy: [Busy] {
        all.compactMap { message -> Busy? in
            if case .busy(let busy) = message { return busy }
            return nil
        }
    }
    var errors: [ErrorCode] {
        all.compactMap { message -> ErrorCode? in
            if case .error(let error) = message { return error.code }
            return nil
        }
    }
}

/// Decodes the coordinator's frames into an ``AnswerLog``.
final class AnswerRecorder: ChannelInboundHandler {
    typealias InboundIn = Frame
    private let log: AnswerLog

    init(log: AnswerLog) { self.log = log }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if let message = try? Message(frame: unwrapInboundIn(data)) { log.record(message) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

enum RawClients {
    /// Connects (from `source`, a loopback address) and sends `bytes` at once; answers go to `log`.
    static func open(
        port: Int,
        source: String = "127.0.0.1",
        sending bytes: ByteBuffer?,
        log: AnswerLog
    )
        async throws -> any Channel
    {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(to: try SocketAddress(ipAddress: source, port: 0))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(FrameDecoder(maximumFrameLength: 1 << 20))
                    )
                    try channel.pipeline.syncOperations.addHandler(AnswerRecorder(log: log))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        if let bytes { channel.writeAndFlush(bytes, promise: nil) }
        return channel
    }

    /// Opens `count` connections, `parallel` at a time, each sending `bytes`.
    static func openMany(
        _ count: Int,
        port: Int,
        sending bytes: ByteBuffer?,
        log: AnswerLog
    ) async throws
        -> [any Channel]
    {
        var channels: [any Channel] = []
        let parallel = 100
        for batch in stride(from: 0, to: count, by: parallel) {
            try await withThrowingTaskGroup(of: (any Channel).self) { group in
                for _ in batch..<min(batch + parallel, count) {
                    group.addTask { try await open(port: port, sending: bytes, log: log) }
                }
                for try await channel in group { channels.append(channel) }
            }
        }
        return channels
    }

    static func hello(role: PeerRole = .device) -> ByteBuffer {
        Message.hello(Hello(role: role, software: "hostile-test", maximumFrameLength: 1 << 20)).encodedFrame()
    }

    /// A frame header announcing `length`, followed by `length - 1` bytes: one byte short of the whole frame.
    static func partialFrame(length: Int) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt32(length))
        buffer.writeInteger(MessageType.enrol.rawValue)
        buffer.writeRepeatingByte(0x41, count: length - 2)
        return buffer
    }
}

/// A process's resident memory from /proc/PID/status, in bytes: now (`VmRSS`) and at its peak (`VmHWM`).
struct ResidentMemory {
    var current: Int
    var peak: Int

    init(pid: Int32) throws {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        func kilobytes(_ key: String) -> Int {
            let line = status.split(separator: "\n").first { $0.hasPrefix(key + ":") } ?? ""
            return (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) * 1024
        }
        current = kilobytes("VmRSS")
        peak = kilobytes("VmHWM")
    }
}
