import FleetWire
import NIOCore
import NIOPosix
import Synchronization

/// A TCP relay between leaves and a gateway's leaf port that plays the part of a dishonest carrier: it passes
/// frames through, remembers the signature of the last `authenticate` it passed, and on request alters the
/// signature of an `authenticate` (one bit flipped) or replaces it with the remembered one (a replay onto a new
/// nonce).
final class TamperingRelay: Sendable {
    enum Mode: Int {
        case pass = 0
        case flipSignature = 1
        case replaySignature = 2
    }

    private let server: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>
    private let mode = Atomic<Int>(Mode.pass.rawValue)
    private let remembered = Mutex<[UInt8]?>(nil)
    private let tampered = Atomic<Int>(0)
    let port: Int

    /// How many `authenticate` frames were altered or replayed.
    var tamperedCount: Int { tampered.load(ordering: .relaxed) }

    func set(_ newMode: Mode) { mode.store(newMode.rawValue, ordering: .relaxed) }

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

    /// Relays to the gateway's leaf port until the calling task is cancelled.
    func run(gatewayPort: Int) async throws {
        try await server.executeThenClose { leaves in
            try await withThrowingDiscardingTaskGroup { group in
                for try await leaf in leaves {
                    group.addTask { try? await self.relay(leaf, to: gatewayPort) }
                }
            }
        }
    }

    private func relay(_ leaf: NIOAsyncChannel<ByteBuffer, ByteBuffer>, to port: Int) async throws {
        let gateway = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        try await leaf.executeThenClose { fromLeaf, toLeaf in
            try await gateway.executeThenClose { fromGateway, toGateway in
                try await withThrowingTaskGroup(of: Void.self) { directions in
                    directions.addTask {
                        var pending = ByteBuffer()
                        for try await var bytes in fromLeaf {
                            pending.writeBuffer(&bytes)
                            while let frame = takeFrame(&pending) {
                                try await toGateway.write(self.handle(frame))
                            }
                        }
                    }
                    directions.addTask {
                        for try await bytes in fromGateway { try await toLeaf.write(bytes) }
                    }
                    _ = try await directions.next()
                    directions.cancelAll()
                }
            }
        }
    }

    /// An `authenticate` frame as the current mode wants it; any other frame unchanged.
    private func handle(_ frame: ByteBuffer) -> ByteBuffer {
        var bytes = Array(frame.readableBytesView)
        guard bytes.count > 5 + 64, bytes[4] == MessageType.authenticate.rawValue else { return frame }
        let signature = bytes.count - 64..<bytes.count
        switch Mode(rawValue: mode.load(ordering: .relaxed)) ?? .pass {
        case .pass:
            remembered.withLock { $0 = Array(bytes[signature]) }
            return frame
        case .flipSignature:
            bytes[signature.lowerBound + 10] ^= 0x01
        case .replaySignature:
            guard let old = remembered.withLock({ $0 }) else { return frame }
            bytes.replaceSubrange(signature, with: old)
        }
        tampered.add(1, ordering: .relaxed)
        return ByteBuffer(bytes: bytes)
    }
}
