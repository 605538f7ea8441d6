import FleetWire
import NIOCore
import NIOPosix
import NIOSSL

/// A client's connection to the coordinator: frames in, messages out, in Swift Concurrency.
/// Clients hold one connection each, so the simpler `NIOAsyncChannel` shape fits here.
public struct FleetConnection {
    public typealias Outbound = NIOAsyncChannelOutboundWriter<ByteBuffer>
    private var inbound: NIOAsyncChannelInboundStream<Frame>.AsyncIterator
    /// Sendable: a heartbeat task may write while the owner reads.
    public let outbound: Outbound
    /// Writes a message at once, from outside Swift Concurrency (a graceful-shutdown handler): it goes out
    /// before a close that the caller's cancellation triggers afterwards.
    public let sendImmediately: @Sendable (Message) -> Void
    /// Closes the connection from another task (a heartbeat watchdog): the owner's pending ``next()`` then ends.
    public let close: @Sendable () -> Void
    /// The frame limit agreed in the handshake (before it: the pre-handshake limit).
    public internal(set) var maximumFrameLength = Frame.handshakeMaximumLength

    /// Connects, runs `body`, and closes the connection when `body` returns or throws.
    public static func withConnection<Result: Sendable>(
        to address: CoordinatorAddress,
        tls: ClientTLSConfiguration?,
        maximumFrameLength: Int = 1 << 20,
        connectTimeout: TimeAmount = .seconds(10),
        _ body: (inout FleetConnection) async throws -> Result
    ) async throws -> Result {
        let sslContext = try tls?.makeContext()
        let hostname = tls?.serverHostname(for: address)
        let channel: NIOAsyncChannel<Frame, ByteBuffer>
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(connectTimeout)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .connect(host: address.host, port: address.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let operations = channel.pipeline.syncOperations
                        if let sslContext {
                            try operations.addHandler(
                                NIOSSLClientHandler(context: sslContext, serverHostname: hostname)
                            )
                        } else {
                            try operations.addHandler(TLSRecordSniffer(address: address))
                        }
                        try operations.addHandler(
                            ByteToMessageHandler(FrameDecoder(maximumFrameLength: maximumFrameLength))
                        )
                        return try NIOAsyncChannel<Frame, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw ConnectFailure.describe(error, address: address)
        }
        let raw = channel.channel
        return try await channel.executeThenClose { inbound, outbound in
            var connection = FleetConnection(
                inbound: inbound.makeAsyncIterator(),
                outbound: outbound,
                sendImmediately: { raw.writeAndFlush($0.encodedFrame(), promise: nil) },
                close: { raw.close(promise: nil) }
            )
            return try await body(&connection)
        }
    }

    /// Sends one message.
    public func send(_ message: Message) async throws {
        try await outbound.write(message.encodedFrame())
    }

    /// The next message, or nil when the coordinator closed the connection.
    public mutating func next() async throws -> Message? {
        guard let frame = try await inbound.next() else { return nil }
        return try Message(frame: frame)
    }

    /// The next message; an ``ErrorMessage`` from the coordinator is thrown as a refusal, ``Busy`` as busy.
    public mutating func expectNext() async throws -> Message {
        guard let message = try await next() else { throw FleetClientError.closed }
        if case .error(let error) = message { throw FleetClientError.refused(error) }
        if case .busy(let busy) = message { throw FleetClientError.busy(busy) }
        return message
    }

    /// Sends a request and waits for its answer, skipping heartbeat acknowledgements.
    public mutating func request(_ message: Message) async throws -> Message {
        try await send(message)
        while true {
            let reply = try await expectNext()
            if reply == .heartbeatAck { continue }
            return reply
        }
    }
}
