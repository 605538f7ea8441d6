import FleetClient
import FleetTrust
import FleetWire
import Logging
import NIOCore

/// One leaf's relayed connection: frames from the leaf go to the coordinator and back, except that the gateway
/// signs a `gatewayClaim` after `helloAccept`, refuses a `gatewayClaim` from the leaf, and answers the leaf's
/// `fetchModel` from the ``GatewayPayloadCache`` (fetching on this connection when the payload is not cached yet).
actor LeafRelaySession {
    typealias Writer = NIOAsyncChannelOutboundWriter<ByteBuffer>

    let gatewayID: String
    let identity: DeviceIdentity
    let cache: GatewayPayloadCache
    let toLeaf: Writer
    let toCoordinator: FleetConnection.Outbound
    let logger: Logger
    private var claimed = false
    /// The frame limit the coordinator negotiated with the leaf (the gateway serves chunks within it).
    private var leafFrameLimit = 1024
    /// Fetches this connection makes for the cache: their answers go to the cache, not to the leaf.
    private var upstreamFetches: [UInt64: AsyncThrowingStream<Message, any Error>.Continuation] = [:]

    init(
        gatewayID: String,
        identity: DeviceIdentity,
        cache: GatewayPayloadCache,
        toLeaf: Writer,
        toCoordinator: FleetConnection.Outbound,
        logger: Logger
    ) {
        self.gatewayID = gatewayID
        self.identity = identity
        self.cache = cache
        self.toLeaf = toLeaf
        self.toCoordinator = toCoordinator
        self.logger = logger
    }

    /// A message from the leaf.
    func fromLeaf(_ message: Message) async throws {
        switch message {
        case .gatewayClaim:
            throw GatewayRelayError("a leaf sent gatewayClaim: only the gateway vouches for its connections")
        case .fetchModel(let request):
            // Served in its own task so that the leaf's heartbeats and reports keep flowing meanwhile.
            Task { await self.serve(request) }
        default:
            try await toCoordinator.write(message.encodedFrame())
        }
    }

    /// A message from the coordinator.
    func fromCoordinator(_ message: Message) async throws {
        if case .helloAccept(let accept) = message, !claimed {
            claimed = true
            leafFrameLimit = accept.maximumFrameLength
            let signature = try identity.sign(AuthChallenge.gateway(nonce: accept.nonce, gatewayID: gatewayID))
            try await toCoordinator.write(
                Message.gatewayClaim(GatewayClaim(gatewayID: gatewayID, nonce: accept.nonce, signature: signature))
                    .encodedFrame()
            )
        }
        if let requestID = message.requestID, let continuation = upstreamFetches[requestID] {
            continuation.yield(message)
            return
        }
        try await toLeaf.write(message.encodedFrame())
    }

    /// Answers a leaf's fetchModel from the cache, as the coordinator would (SPEC 11.3-11.4).
    private func serve(_ request: FetchModel) async {
        do {
            let payload = try await cache.payload(for: GatewayPayloadCache.Key(request)) {
                try await self.fetchUpstream(request)
            }
            let resumes = request.resumePayloadSHA256 == payload.sha256 && request.resumeOffset < payload.bytes.count
            var offset = resumes ? request.resumeOffset : 0
            let start = TransferStart(
                requestID: request.requestID,
                encoding: payload.encoding,
                baseVersion: payload.baseVersion,
                totalBytes: payload.bytes.count,
                payloadSHA256: payload.sha256,
                offset: offset
            )
            try await toLeaf.write(Message.transferStart(start).encodedFrame())
            let chunkSize = max(min(leafFrameLimit - 64, 64 * 1024), 256)
            while offset < payload.bytes.count {
                let end = min(offset + chunkSize, payload.bytes.count)
                let chunk = TransferChunk(
                    requestID: request.requestID,
                    offset: offset,
                    bytes: Array(payload.bytes[offset..<end])
                )
                try await toLeaf.write(Message.transferChunk(chunk).encodedFrame())
                offset = end
            }
        } catch let error as ErrorMessage {
            var answer = error
            answer.requestID = request.requestID
            try? await toLeaf.write(Message.error(answer).encodedFrame())
        } catch {
            logger.warning(
                "leaf transfer failed",
                metadata: ["model": "\(request.model) v\(request.version)", "error": "\(error)"]
            )
            let answer = ErrorMessage(
                requestID: request.requestID,
                code: .unavailable,
                message: "the gateway could not get the payload: \(error)"
            )
            try? await toLeaf.write(Message.error(answer).encodedFrame())
        }
    }

    /// Fetches the whole payload on this connection (from its start) for the cache, checking its SHA-256.
    private func fetchUpstream(_ request: FetchModel) async throws -> GatewayPayloadCache.Payload {
        let (answers, continuation) = AsyncThrowingStream<Message, any Error>.makeStream()
        upstreamFetches[request.requestID] = continuation
        defer { upstreamFetches[request.requestID] = nil }
        var fetch = request
        fetch.resumePayloadSHA256 = []
        fetch.resumeOffset = 0
        try await toCoordinator.write(Message.fetchModel(fetch).encodedFrame())
        var start: TransferStart?
        var bytes: [UInt8] = []
        for try await answer in answers {
            switch answer {
            case .error(let error): throw error
            case .transferStart(let begun):
                guard begun.offset == 0, begun.totalBytes <= GatewayPayloadCache.maximumPayloadSize else {
                    throw GatewayRelayError("payload of \(begun.totalBytes) bytes is over the gateway's cache limit")
                }
                start = begun
                bytes.reserveCapacity(begun.totalBytes)
            case .transferChunk(let chunk):
                guard let begun = start, chunk.offset == bytes.count,
                    chunk.bytes.count <= begun.totalBytes - bytes.count
                else { throw GatewayRelayError("chunk out of order from the coordinator") }
                bytes += chunk.bytes
            default:
                continue
            }
            if let begun = start, bytes.count == begun.totalBytes {
                guard Digest.sha256(bytes) == begun.payloadSHA256 else {
                    throw GatewayRelayError("payload SHA-256 does not match transferStart")
                }
                return GatewayPayloadCache.Payload(
                    encoding: begun.encoding,
                    baseVersion: begun.baseVersion,
                    sha256: begun.payloadSHA256,
                    bytes: bytes
                )
            }
        }
        throw GatewayRelayError("the coordinator connection closed during the transfer")
    }

    /// The coordinator connection ended: fetches in flight on it fail.
    func closed() {
        for continuation in upstreamFetches.values {
            continuation.finish(throwing: GatewayRelayError("connection closed"))
        }
        upstreamFetches.removeAll()
    }
}

/// Why the gateway ended a leaf's connection or transfer.
struct GatewayRelayError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
