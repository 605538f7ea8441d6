import FleetClient
import FleetTrust
import FleetWire
import Logging
import NIOCore

/// One leaf's relayed connection: frames from the leaf go to the coordinator and back, except that the gateway
/// signs a `gatewayClaim` after `helloAccept`, refuses a `gatewayClaim` from the leaf, and answers the leaf's
/// `fetchModel` from the ``GatewayPayloadCache`` (fetching on this connection when the payload is not cached yet,
/// and otherwise serving it only once the coordinator has answered this leaf's own fetch for it).
actor LeafRelaySession {
    typealias Writer = NIOAsyncChannelOutboundWriter<ByteBuffer>

    let gatewayID: String
    let identity: DeviceIdentity
    let cache: GatewayPayloadCache
    let toLeaf: Writer
    let toCoordinator: FleetConnection.Outbound
    let logger: Logger
    private var claimed = false
    /// Set when the session is over: nothing more goes to the leaf (a serial line outlives its sessions).
    private var ended = false
    /// Whether the coordinator's last message was an error that ends the session (the leaf has seen why).
    private var leafSawClosingError = false
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
            guard !ended else { throw GatewayRelayError("the leaf's session has ended") }
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
        if case .error(let error) = message, error.code.closesConnection { leafSawClosingError = true }
        try await sendToLeaf(message)
    }

    private func sendToLeaf(_ message: Message) async throws {
        guard !ended else { throw GatewayRelayError("the leaf's session has ended") }
        try await toLeaf.write(message.encodedFrame())
    }

    /// Answers a leaf's fetchModel from the cache, as the coordinator would (SPEC 11.3-11.4), with only what the
    /// coordinator answers this leaf: a payload another leaf's fetch brought is served once the coordinator has
    /// resumed this leaf's own fetch of it at its last byte (a refusal, such as 302 for a model not assigned to
    /// this leaf, goes to the leaf instead, and no byte of the payload does).
    private func serve(_ request: FetchModel) async {
        do {
            let (cached, fetchedHere) = try await cache.payload(for: GatewayPayloadCache.Key(request)) {
                try await self.download(request, resuming: nil)
            }
            let payload = fetchedHere ? cached : try await download(request, resuming: cached)
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
            try await sendToLeaf(.transferStart(start))
            let chunkSize = max(min(leafFrameLimit - 64, 64 * 1024), 256)
            while offset < payload.bytes.count {
                let end = min(offset + chunkSize, payload.bytes.count)
                let chunk = TransferChunk(
                    requestID: request.requestID,
                    offset: offset,
                    bytes: Array(payload.bytes[offset..<end])
                )
                try await sendToLeaf(.transferChunk(chunk))
                offset = end
            }
        } catch let error as ErrorMessage {
            var answer = error
            answer.requestID = request.requestID
            try? await sendToLeaf(.error(answer))
        } catch {
            guard !ended else { return }
            logger.warning(
                "leaf transfer failed",
                metadata: ["model": "\(request.model) v\(request.version)", "error": "\(error)"]
            )
            let answer = ErrorMessage(
                requestID: request.requestID,
                code: .unavailable,
                message: "the gateway could not get the payload: \(error)"
            )
            try? await sendToLeaf(.error(answer))
        }
    }

    /// The coordinator's answer to this leaf's fetch, made on this connection: the whole payload, or with `resuming`
    /// (a payload the gateway holds) a fetch resumed at its last byte, so that the coordinator checks this leaf's
    /// assignment and sends one byte. The coordinator may answer another payload from offset 0 (then that one is
    /// downloaded) or an error (thrown). The result's SHA-256 is checked.
    private func download(
        _ request: FetchModel,
        resuming held: GatewayPayloadCache.Payload?
    ) async throws -> GatewayPayloadCache.Payload {
        let (answers, continuation) = AsyncThrowingStream<Message, any Error>.makeStream()
        upstreamFetches[request.requestID] = continuation
        defer { upstreamFetches[request.requestID] = nil }
        var fetch = request
        fetch.resumePayloadSHA256 = held?.sha256 ?? []
        fetch.resumeOffset = max((held?.bytes.count ?? 0) - 1, 0)
        try await toCoordinator.write(Message.fetchModel(fetch).encodedFrame())
        var start: TransferStart?
        var bytes: [UInt8] = []
        for try await answer in answers {
            switch answer {
            case .error(let error): throw error
            case .transferStart(let begun):
                guard begun.totalBytes <= GatewayPayloadCache.maximumPayloadSize else {
                    throw GatewayRelayError("payload of \(begun.totalBytes) bytes is over the gateway's cache limit")
                }
                if let held, begun.offset > 0, begun.payloadSHA256 == held.sha256,
                    begun.totalBytes == held.bytes.count, begun.offset <= held.bytes.count
                {
                    bytes = Array(held.bytes[0..<begun.offset])
                } else {
                    guard begun.offset == 0 else { throw GatewayRelayError("transfer resumed where it was not asked") }
                    bytes.reserveCapacity(begun.totalBytes)
                }
                start = begun
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

    /// The session is over (its coordinator connection closed): fetches in flight on it fail, nothing more goes to
    /// the leaf. Returns whether the coordinator ended it with an error the leaf saw.
    func closed() -> Bool {
        ended = true
        for continuation in upstreamFetches.values {
            continuation.finish(throwing: GatewayRelayError("connection closed"))
        }
        upstreamFetches.removeAll()
        return leafSawClosingError
    }
}

/// Why the gateway ended a leaf's connection or transfer.
struct GatewayRelayError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
