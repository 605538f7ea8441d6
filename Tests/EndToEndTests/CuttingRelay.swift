import FleetWire
import NIOCore
import NIOPosix
import Synchronization

/// A TCP relay on loopback between agents and a real coordinator that lets every session authenticate and sync,
/// then cuts it where the coordinator's first `heartbeatAck` would pass: each session fails before it did any
/// lasting work, as when the agent's own disk fails at every commit. Counts the connections it accepted.
final class CuttingRelay: Sendable {
    private let server: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>
    private let accepted = Atomic<Int>(0)
    let port: Int

    var connections: Int { accepted.load(ordering: .relaxed) }

    init() async throws {
        server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: 0) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        port = server.channel.localAddress?.port ?? 0
    }

    /// Relays to the coordinator at `coordinatorPort` until the calling task is cancelled.
    func run(coordinatorPort: Int) async throws {
        try await server.executeThenClose { clients in
            try await withThrowingDiscardingTaskGroup { group in
                for try await client in clients {
                    accepted.add(1, ordering: .relaxed)
                    group.addTask { try? await Self.relay(client, to: coordinatorPort) }
                }
            }
        }
    }

    private static func relay(_ client: NIOAsyncChannel<ByteBuffer, ByteBuffer>, to port: Int) async throws {
        let upstream = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        try await client.executeThenClose { fromAgent, toAgent in
            try await upstream.executeThenClose { fromCoordinator, toCoordinator in
                try await withThrowingTaskGroup(of: Void.self) { directions in
                    directions.addTask {
                        for try await bytes in fromAgent { try await toCoordinator.write(bytes) }
                    }
                    directions.addTask {
                        var pending = ByteBuffer()
                        for try await var bytes in fromCoordinator {
                            pending.writeBuffer(&bytes)
                            while let frame = takeFrame(&pending) {
                                // The frame's type byte follows its 4-byte length.
                                if frame.getInteger(at: frame.readerIndex + Frame.lengthPrefixSize, as: UInt8.self)
                                    == MessageType.heartbeatAck.rawValue
                                {
                                    toAgent.finish()
                                    return
                                }
                                try await toAgent.write(frame)
                            }
                        }
                    }
                    // Either side ended (or the cut): close both connections.
                    _ = try await directions.next()
                    directions.cancelAll()
                }
            }
        }
    }

}

/// Takes one whole frame (length prefix included) off the front of `buffer`, if it holds one.
func takeFrame(_ buffer: inout ByteBuffer) -> ByteBuffer? {
    guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self),
        buffer.readableBytes >= Frame.lengthPrefixSize + Int(length)
    else { return nil }
    return buffer.readSlice(length: Frame.lengthPrefixSize + Int(length))
}
