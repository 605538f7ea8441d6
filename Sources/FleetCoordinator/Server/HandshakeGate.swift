import NIOCore

/// First in a connection's pipeline after TLS, until `welcome`: turns away a source refused too often
/// (``RefusalLimiter``), admits the connection under the cap on unauthenticated connections and counts every byte it sends before `welcome` against the shared byte cap.
/// Past either cap it fires a ``HandshakeRefusal`` (the ``ConnectionHandler`` answers `busy` and closes) and
/// drops what the peer still sends. The connection handler removes it at `welcome`, which releases the counts.
final class HandshakeGate: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let admission: HandshakeAdmission
    private let refusals: RefusalLimiter
    private var admitted = false
    private var refusing = false
    private var counted = 0

    init(admission: HandshakeAdmission, refusals: RefusalLimiter) {
        self.admission = admission
        self.refusals = refusals
    }

    func channelActive(context: ChannelHandlerContext) {
        let source = RefusalLimiter.source(of: context.remoteAddress)
        if let wait = refusals.retryAfterMilliseconds(source: source) {
            refusing = true
            context.fireErrorCaught(
                HandshakeRefusal(
                    reason: "too many refused handshakes from \(source); wait for the end of the window",
                    retryAfterMilliseconds: wait
                )
            )
            return
        }
        guard admission.admitConnection() else {
            refuse(context, "at the cap of \(admission.limits.maximumConnections) connections still in their handshake")
            return
        }
        admitted = true
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard admitted, !refusing else { return }
        let count = unwrapInboundIn(data).readableBytes
        guard admission.reserve(count) else {
            refuse(
                context,
                "at the cap of \(admission.limits.maximumBytes) bytes held for connections in their handshake"
            )
            return
        }
        counted += count
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        release()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        release()
    }

    private func refuse(_ context: ChannelHandlerContext, _ reason: String) {
        refusing = true
        context.fireErrorCaught(HandshakeRefusal(reason: reason))
    }

    private func release() {
        guard admitted else { return }
        admitted = false
        admission.release(bytes: counted)
        counted = 0
    }
}

@available(*, unavailable)
extension HandshakeGate: Sendable {}
