import FleetClient
import FleetTrust
import FleetWire
import Logging
import NIOCore
import NIOPosix

/// `fleet-agent --leaf-listen` and `--leaf-serial`: leaves connect over TCP or a serial line, and for each one the gateway opens a connection of its
/// own to the coordinator (with TLS when the agent uses it) and relays the frames both ways (SPEC "Gateways and
/// leaves"). The leaf authenticates end to end: its hello, enrol or authenticate and the coordinator's nonce pass
/// through unchanged, so only the leaf's own key can answer its challenge. The gateway adds one message of its own,
/// a `gatewayClaim` signed with its device key right after `helloAccept`, which the coordinator checks before it
/// records the gateway on the leaf. Model payloads the leaves fetch are served from the gateway's
/// ``GatewayPayloadCache``, so N leaves cost one download per payload.
struct LeafGateway: Sendable {
    /// The agent's coordinators: each leaf session goes to the one the agent's own session uses now.
    let coordinators: CoordinatorRotation
    let tls: ClientTLSConfiguration?
    let identity: DeviceIdentity
    let gatewayID: String
    let cache: GatewayPayloadCache
    let logger: Logger
    /// Counts the leaf sessions carried now (`tinyfleet_agent_leaf_sessions`); nil: not counted.
    var metrics: AgentMetrics? = nil

    /// The largest frame a leaf may send (its messages are small: requests, reports, heartbeats).
    static let leafFrameLimit = Frame.handshakeMaximumLength

    /// Accepts leaves on `listen` (TCP) until cancelled.
    func listen(on listen: CoordinatorAddress) async throws {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .bind(host: listen.host, port: listen.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(FrameDecoder(maximumFrameLength: Self.leafFrameLimit))
                    )
                    return try NIOAsyncChannel<Frame, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        logger.info("leaf gateway listening", metadata: ["address": "\(listen)", "gateway": "\(gatewayID)"])
        try await withThrowingDiscardingTaskGroup { group in
            try await server.executeThenClose { leaves in
                for try await leaf in leaves {
                    group.addTask { await relay(leaf) }
                }
            }
        }
    }

    /// One leaf's connection, until either side closes it.
    private func relay(_ leaf: NIOAsyncChannel<Frame, ByteBuffer>) async {
        let peer = leaf.channel.remoteAddress.map { "\($0)" } ?? "unknown"
        do {
            try await leaf.executeThenClose { leafInbound, leafOutbound in
                _ = try await carry(leafInbound, toLeaf: leafOutbound)
            }
        } catch is CancellationError {
            return
        } catch {
            logger.debug("leaf connection ended", metadata: ["leaf": "\(peer)", "reason": "\(error)"])
        }
    }

    /// Carries one leaf session: opens a coordinator connection, relays the leaf's frames until they end (then
    /// closes it) and the coordinator's until it closes. Returns whether the coordinator's last message was an
    /// error that ends the session, which the leaf has then seen.
    func carry<Inbound: AsyncSequence & Sendable>(
        _ fromLeaf: Inbound,
        toLeaf: LeafRelaySession.Writer
    ) async throws -> Bool where Inbound.Element == Frame {
        try await FleetConnection.withConnection(to: coordinators.current, tls: tls) { upstream in
            metrics?.leafSession(+1)
            defer { metrics?.leafSession(-1) }
            let session = LeafRelaySession(
                gatewayID: gatewayID,
                identity: identity,
                cache: cache,
                toLeaf: toLeaf,
                toCoordinator: upstream.outbound,
                logger: logger
            )
            let closeUpstream = upstream.close
            do {
                try await withThrowingDiscardingTaskGroup { group in
                    group.addTask {
                        defer { closeUpstream() }
                        for try await frame in fromLeaf {
                            try await session.fromLeaf(try Message(frame: frame))
                        }
                    }
                    defer { group.cancelAll() }
                    while let message = try await upstream.next() {
                        try await session.fromCoordinator(message)
                    }
                }
            } catch {
                _ = await session.closed()
                throw error
            }
            return await session.closed()
        }
    }
}
