import FleetStore
import FleetTrust
import FleetWire
import Foundation
import Logging
import NIOCore

/// Drives one connection's ``SessionStateMachine``: decodes frames, carries out actions, writes answers.
/// Heartbeats are answered on the event loop without touching SQLite; everything that needs the database
/// runs in a task and comes back to the event loop with its result.
final class ConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = Frame
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private static let heartbeatAck = Message.heartbeatAck.encodedFrame()

    private var session: SessionStateMachine
    private let context: CoordinatorContext
    private let frameLimit: FrameLengthLimit
    /// Counts this connection under the handshake caps until `welcome`, when it is removed.
    private var gate: HandshakeGate?
    private var handshakeTimeout: Scheduled<Void>?

    init(context: CoordinatorContext, frameLimit: FrameLengthLimit, gate: HandshakeGate) {
        self.context = context
        self.frameLimit = frameLimit
        self.gate = gate
        self.session = SessionStateMachine(settings: context.sessionSettings)
    }

    func channelActive(context channelContext: ChannelHandlerContext) {
        let loopBound = NIOLoopBound((self, channelContext), eventLoop: channelContext.eventLoop)
        handshakeTimeout = channelContext.eventLoop.scheduleTask(in: context.handshakeTimeout) {
            let (handler, channelContext) = loopBound.value
            handler.perform(handler.session.handshakeTimedOut(), channelContext)
        }
        channelContext.fireChannelActive()
    }

    func channelInactive(context channelContext: ChannelHandlerContext) {
        handshakeTimeout?.cancel()
        if let deviceID = session.deviceID {
            context.presence.disconnected(deviceID)
            context.connections.remove(deviceID, channelContext.channel)
        }
        session.closed()
        channelContext.fireChannelInactive()
    }

    func channelRead(context channelContext: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        context.metrics.received(type: frame.type)
        // Fast path: a heartbeat from an authenticated device.
        if frame.type == MessageType.heartbeat.rawValue, frame.payload.readableBytes == 0,
            let deviceID = session.deviceID
        {
            context.presence.touch(deviceID, at: Date())
            send(Self.heartbeatAck, channelContext)
            return
        }
        let message: Message
        do {
            message = try Message(frame: frame)
        } catch {
            errorCaught(context: channelContext, error: error)
            return
        }
        let action = session.receive(
            message,
            nonce: { Digest.randomBytes(HelloAccept.nonceSize) },
            now: Date().unixMilliseconds
        )
        perform(action, channelContext)
    }

    func errorCaught(context channelContext: ChannelHandlerContext, error: any Error) {
        let reply: ErrorMessage
        switch error {
        case let refusal as HandshakeRefusal:
            if let count = context.admission.noteBusy() {
                context.logger.warning(
                    "answered busy",
                    metadata: [
                        "connections": "\(count)", "last-peer": "\(peerDescription(channelContext))",
                        "reason": "\(refusal.reason)",
                    ]
                )
            }
            perform(session.busy(refusal), channelContext)
            return
        case let error as FleetWireError where error == .frameTooLarge(length: 0, maximum: 0):
            reply = ErrorMessage(code: .frameTooLarge, message: error.detail)
        case let error as FleetWireError where error == .unknownMessageType(0):
            reply = ErrorMessage(code: .unknownMessageType, message: error.detail)
        case let error as FleetWireError:
            reply = ErrorMessage(code: .malformedMessage, message: error.detail)
        default:
            context.logger.debug("connection error", metadata: ["error": "\(error)"])
            channelContext.close(promise: nil)
            return
        }
        if gate == nil {
            // Before welcome the failure is logged (coalesced) where every handshake failure is.
            context.logger.warning(
                "closing connection after protocol error",
                metadata: ["peer": "\(peerDescription(channelContext))", "error": "\(reply.message)"]
            )
        }
        perform(session.failed(reply), channelContext)
    }

    /// A handshake that failed for a reason the ``DeviceAuthority`` does not record (a protocol error, a replayed
    /// nonce, a message before authentication, the timeout) counts against its source as a refusal (SPEC 6.7):
    /// logged once per source and window, and towards the source's limit; never an event.
    private func noteHandshakeFailure(_ error: ErrorMessage, _ channelContext: ChannelHandlerContext) {
        let code = error.code.rawValue
        guard gate != nil,
            code < 200 || code == ErrorCode.replayedNonce.rawValue
                || code == ErrorCode.notAuthenticated.rawValue
        else { return }
        let source = peerDescription(channelContext)
        if context.authority.refusals.refused(source: source, kind: RefusalLedger.protocolErrorKind) {
            context.logger.warning(
                "closing connection after protocol error",
                metadata: ["peer": "\(source)", "error": "\(error.message)", "note": "later ones counted"]
            )
        }
    }

    private func perform(_ action: SessionStateMachine.Action, _ channelContext: ChannelHandlerContext) {
        switch action {
        case .none:
            return
        case .send(let message):
            if case .welcome = message { welcomed(channelContext) }
            write(message, channelContext)
        case .fail(let error):
            noteHandshakeFailure(error, channelContext)
            writeThenClose(.error(error), channelContext)
        case .busy(let busy):
            // Half-close after `busy`, so that the peer reads it before it sees the end (a full close with its
            // unread hello pending would send a reset, which may discard `busy`); what it still sends is dropped
            // by the gate. Closed when the peer closes, or after 2 s (also when a TLS handshake never ends).
            let channel = channelContext.channel
            let written = channelContext.eventLoop.makePromise(of: Void.self)
            send(Message.busy(busy).encodedFrame(), channelContext, promise: written)
            written.futureResult.whenComplete { _ in channel.close(mode: .output, promise: nil) }
            channel.eventLoop.scheduleTask(in: .seconds(2)) { channel.close(promise: nil) }
        case .verifyEnrolment(let enrol, let nonce):
            let authority = context.authority
            let peer = peerDescription(channelContext)
            let claim = session.gatewayClaim
            run(
                channelContext,
                {
                    await authority.admit(gateway: claim, nonce: nonce, peer: peer) {
                        await authority.enrol(enrol, nonce: nonce, peer: peer)
                    }
                }
            ) { handler, result, ctx in
                handler.finishVerification(result, ctx)
            }
        case .verifyDevice(let authenticate, let nonce):
            let authority = context.authority
            let peer = peerDescription(channelContext)
            let claim = session.gatewayClaim
            run(
                channelContext,
                {
                    await authority.admit(gateway: claim, nonce: nonce, peer: peer) {
                        await authority.authenticate(authenticate, nonce: nonce, peer: peer)
                    }
                }
            ) {
                handler,
                result,
                ctx in
                handler.finishVerification(result, ctx)
            }
        case .verifyAdmin(let request, let nonce):
            let authority = context.authority
            let peer = peerDescription(channelContext)
            run(channelContext, { await authority.authenticateAdmin(request, nonce: nonce, peer: peer) }) {
                handler,
                refusal,
                ctx in
                handler.perform(refusal.map { handler.session.failed($0) } ?? handler.session.adminWelcomed(), ctx)
            }
        case .heartbeat(let deviceID):
            context.presence.touch(deviceID, at: Date())
            send(Self.heartbeatAck, channelContext)
        case .goodbye(let deviceID):
            context.presence.leftGracefully(deviceID, at: Date())
            channelContext.close(promise: nil)
        case .storeState(let deviceID, let report):
            context.presence.touch(deviceID, at: Date())
            let store = context.store
            let logger = context.logger
            let models = context.models
            let channel = channelContext.channel
            run(
                channelContext,
                {
                    do {
                        try await store.recordHeartbeats([report.heartbeat(deviceID: deviceID)])
                        // The reported state (capabilities, installed models) decides what the device should run.
                        if let device = try await store.device(id: deviceID) {
                            let desired = try await models.desiredState(for: device)
                            try await channel.writeAndFlush(Message.desiredState(desired).encodedFrame()).get()
                        }
                        return Message.ack(Ack(requestID: report.requestID))
                    } catch {
                        logger.error("storing reported state failed", metadata: ["error": "\(error)"])
                        return .error(
                            ErrorMessage(
                                requestID: report.requestID,
                                code: .unavailable,
                                message: "state not stored; retry"
                            )
                        )
                    }
                }
            ) { handler, reply, ctx in
                handler.write(reply, ctx)
            }
        case .fetchModel(let deviceID, let request, let budget):
            let models = context.models
            var configured = context.streamer
            configured.chunkSize = min(configured.chunkSize, budget - 64)
            let streamer = configured
            let channel = channelContext.channel
            let logger = context.logger
            run(
                channelContext,
                { () async -> Message? in
                    do {
                        let payload = try await models.payload(for: request, deviceID: deviceID)
                        let resumes =
                            request.resumePayloadSHA256 == payload.sha256 && request.resumeOffset < payload.size
                        let start = TransferStart(
                            requestID: request.requestID,
                            encoding: payload.encoding,
                            baseVersion: payload.baseVersion,
                            totalBytes: payload.size,
                            payloadSHA256: payload.sha256,
                            offset: resumes ? request.resumeOffset : 0
                        )
                        logger.info(
                            "transfer",
                            metadata: [
                                "device": "\(deviceID)",
                                "model": "\(request.model) v\(request.version) \(request.variant)",
                                "encoding": "\(payload.encoding)", "bytes": "\(payload.size)",
                                "from": "\(start.offset)",
                            ]
                        )
                        try await streamer.stream(
                            path: models.blobs.absolute(payload.relativePath),
                            start: start,
                            channel: channel
                        )
                        return nil
                    } catch let error as ErrorMessage {
                        return Message.error(error)
                    } catch {
                        logger.warning("transfer ended", metadata: ["device": "\(deviceID)", "error": "\(error)"])
                        return Message.error(
                            ErrorMessage(
                                requestID: request.requestID,
                                code: .unavailable,
                                message: "transfer failed: \(error)"
                            )
                        )
                    }
                }
            ) { handler, reply, ctx in
                if let reply { handler.write(reply, ctx) }
            }
        case .modelReport(let deviceID, let report):
            let models = context.models
            run(
                channelContext,
                {
                    do {
                        try await models.record(report, deviceID: deviceID)
                        return Message.ack(Ack(requestID: report.requestID))
                    } catch {
                        return .error(
                            ErrorMessage(requestID: report.requestID, code: .unavailable, message: "\(error)")
                        )
                    }
                }
            ) { handler, reply, ctx in
                handler.write(reply, ctx)
            }
        case .deviceRequest(let deviceID, let message):
            context.presence.touch(deviceID, at: Date())
            let reply = context.features.enqueue(message, from: deviceID)
            run(channelContext, { await reply.value }) { handler, reply, ctx in
                if let reply { handler.write(reply, ctx) }
            }
        case .adminRequest(let message, let budget):
            let admin = context.admin
            run(channelContext, { await admin.handle(message, frameBudget: budget) }) { handler, reply, ctx in
                handler.write(reply, ctx)
            }
        }
    }

    private func finishVerification(
        _ result: Result<DeviceAuthority.Accepted, ErrorMessage>,
        _ channelContext: ChannelHandlerContext
    ) {
        switch result {
        case .success(let accepted):
            let action = session.welcomed(deviceID: accepted.deviceID, labels: accepted.labels)
            if case .send = action {
                context.presence.connected(accepted.deviceID, at: Date())
                context.connections.add(accepted.deviceID, channelContext.channel)
            }
            perform(action, channelContext)
        case .failure(let error):
            perform(session.failed(error), channelContext)
        }
    }

    /// From `welcome` on: the negotiated frame limit, no handshake timer, and no longer counted as unauthenticated.
    private func welcomed(_ channelContext: ChannelHandlerContext) {
        frameLimit.maximum = session.negotiatedFrameLength
        handshakeTimeout?.cancel()
        handshakeTimeout = nil
        if let gate {
            self.gate = nil
            channelContext.pipeline.syncOperations.removeHandler(gate, promise: nil)
        }
    }

    private func writeThenClose(_ message: Message, _ channelContext: ChannelHandlerContext) {
        let channel = channelContext.channel
        let written = channelContext.eventLoop.makePromise(of: Void.self)
        write(message, channelContext, promise: written)
        written.futureResult.whenComplete { _ in channel.close(promise: nil) }
    }

    private func write(
        _ message: Message,
        _ channelContext: ChannelHandlerContext,
        promise: EventLoopPromise<Void>? = nil
    ) {
        if case .error(let error) = message { context.metrics.errorSent(code: error.code.rawValue) }
        var buffer = channelContext.channel.allocator.buffer(capacity: 64)
        message.encodeFrame(into: &buffer)
        send(buffer, channelContext, promise: promise)
    }

    /// Every frame this handler writes, counted: it starts at this handler, so ``write(context:data:promise:)``
    /// does not see it.
    private func send(
        _ frame: ByteBuffer,
        _ channelContext: ChannelHandlerContext,
        promise: EventLoopPromise<Void>? = nil
    ) {
        context.metrics.sent(frame: frame)
        channelContext.writeAndFlush(wrapOutboundOut(frame), promise: promise)
    }

    /// Frames written on the channel by others (transfers, pushed desired states and quotas), counted on their way.
    func write(context channelContext: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        context.metrics.sent(frame: unwrapOutboundIn(data))
        channelContext.write(data, promise: promise)
    }

    /// Runs `work` off the event loop, then `then` back on it (if the channel is still open).
    private func run<T: Sendable>(
        _ channelContext: ChannelHandlerContext,
        _ work: @escaping @Sendable () async -> T,
        then: @escaping (ConnectionHandler, T, ChannelHandlerContext) -> Void
    ) {
        let loopBound = NIOLoopBound((self, channelContext, then), eventLoop: channelContext.eventLoop)
        channelContext.eventLoop.makeFutureWithTask(work).whenSuccess { value in
            let (handler, ctx, then) = loopBound.value
            guard ctx.channel.isActive else { return }
            then(handler, value, ctx)
        }
    }

    /// The source address refusals are counted under, which also names the peer in events and logs.
    private func peerDescription(_ channelContext: ChannelHandlerContext) -> String {
        RefusalLimiter.source(of: channelContext.remoteAddress)
    }
}

@available(*, unavailable)
extension ConnectionHandler: Sendable {}

extension StateReport {
    func heartbeat(deviceID: String) -> HeartbeatUpdate {
        HeartbeatUpdate(
            deviceID: deviceID,
            lastSeen: Date(),
            reported: ReportedState(
                agentVersion: software,
                capabilities: capabilities,
                installedModels: installedModels.map {
                    InstalledModelRecord(name: $0.name, version: $0.version, variant: $0.variant, sha256: $0.sha256)
                }
            )
        )
    }
}
