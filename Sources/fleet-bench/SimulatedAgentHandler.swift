import FleetTrust
import FleetWire
import NIOCore

/// One simulated agent on a real TCP connection: hello, then enrol (new key) or authenticate (known key),
/// one state report, then heartbeats on a timer. The heartbeat is a pre-encoded 5-byte frame, and each
/// acknowledgement is matched to the oldest outstanding heartbeat (the coordinator answers in order).
final class SimulatedAgentHandler: ChannelInboundHandler, LoadConnection {
    typealias InboundIn = Frame
    typealias OutboundOut = ByteBuffer

    static let heartbeatFrame = Message.heartbeat.encodedFrame()
    static let software = "fleet-bench-agent/0.1.0"

    private enum State {
        case connecting
        case awaitingHelloAccept
        case awaitingWelcome
        case awaitingAck
        case ready
        case done
    }

    private let run: LoadRun
    private let index: Int
    private var state = State.connecting
    private var enrolling = false
    private var context: ChannelHandlerContext?
    private var sentAt = CircularBuffer<NIODeadline>(initialCapacity: 2)
    private var heartbeatTimer: RepeatedTask?
    private var handshakeTimer: Scheduled<Void>?

    init(run: LoadRun, index: Int) {
        self.run = run
        self.index = index
    }

    var outstandingHeartbeats: Int { state == .ready ? sentAt.count : 0 }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        stopHeartbeats()
        handshakeTimer?.cancel()
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        state = .awaitingHelloAccept
        let hello = Hello(role: .device, software: Self.software, maximumFrameLength: 1 << 20)
        write(.hello(hello), context)
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        handshakeTimer = context.eventLoop.scheduleTask(in: run.settings.handshakeTimeout) {
            bound.value.failHandshake("handshake-timeout")
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        switch state {
        case .ready: run.closedWhileReady()
        case .done: break
        default: run.handshakeFailed("closed-in-handshake")
        }
        state = .done
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if state != .ready && state != .done {
            failHandshake("error-in-handshake: \(type(of: error))")
        } else {
            context.close(promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        // The coordinator may push the device's desired models at any time; a load generator ignores them.
        if frame.type == MessageType.desiredState.rawValue { return }
        if state == .ready {
            guard frame.type == MessageType.heartbeatAck.rawValue else {
                run.unexpected("unexpected-frame-0x\(String(frame.type, radix: 16))")
                return
            }
            let now = NIODeadline.now()
            if let sent = sentAt.popFirst() {
                run.ack(sentAt: sent, now: now)
            } else {
                run.unexpected("ack-without-heartbeat")
            }
            return
        }
        let message: Message
        do {
            message = try Message(frame: frame)
        } catch {
            failHandshake("malformed-frame")
            return
        }
        switch (state, message) {
        case (_, .error(let error)):
            failHandshake("refused: \(error.code.rawValue) \(error.code.name)")
        case (.awaitingHelloAccept, .helloAccept(let accept)):
            do {
                try sendCredentials(nonce: accept.nonce, context)
                state = .awaitingWelcome
            } catch {
                failHandshake("\(error)")
            }
        case (.awaitingWelcome, .welcome):
            if run.settings.sendStateReport {
                state = .awaitingAck
                write(.stateReport(Self.stateReport), context)
            } else {
                becomeReady()
            }
        case (.awaitingAck, .ack):
            becomeReady()
        case (_, .heartbeatAck):
            break
        default:
            failHandshake("unexpected-\(message.type)")
        }
    }

    private func sendCredentials(nonce: [UInt8], _ context: ChannelHandlerContext) throws {
        let identity = try DeviceIdentity(privateKeyBytes: run.keys[index])
        if index >= run.existing {
            guard let token = run.settings.token else { throw BenchError("no-token-for-new-identity") }
            enrolling = true
            let signature = try identity.sign(AuthChallenge.enrol(nonce: nonce, publicKey: identity.publicKey))
            let enrol = Enrol(
                token: token,
                publicKey: identity.publicKey,
                signature: signature,
                name: "bench-\(run.settings.firstIndex + index)",
                labels: ["bench": "load-gen"],
                capabilities: Self.stateReport.capabilities,
                software: Self.software
            )
            write(.enrol(enrol), context)
        } else {
            let deviceID = DeviceIdentity.deviceID(forPublicKey: identity.publicKey)
            let signature = try identity.sign(AuthChallenge.authenticate(nonce: nonce, deviceID: deviceID))
            write(.authenticate(Authenticate(deviceID: deviceID, nonce: nonce, signature: signature)), context)
        }
    }

    private func becomeReady() {
        handshakeTimer?.cancel()
        handshakeTimer = nil
        state = .ready
        run.becameReady(self, enrolled: enrolling)
    }

    private func failHandshake(_ kind: String) {
        guard state != .ready && state != .done else { return }
        handshakeTimer?.cancel()
        handshakeTimer = nil
        state = .done
        run.handshakeFailed(kind)
        context?.close(promise: nil)
    }

    // MARK: - Heartbeats

    func startHeartbeats(initialDelay: TimeAmount, interval: TimeAmount) {
        guard let context, state == .ready else { return }
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        heartbeatTimer = context.eventLoop.scheduleRepeatedTask(initialDelay: initialDelay, delay: interval) { _ in
            bound.value.sendHeartbeat()
        }
    }

    func stopHeartbeats() {
        heartbeatTimer?.cancel()
        heartbeatTimer = nil
    }

    private func sendHeartbeat() {
        guard let context, state == .ready else { return }
        sentAt.append(.now())
        run.heartbeatSent()
        context.writeAndFlush(wrapOutboundOut(Self.heartbeatFrame), promise: nil)
    }

    /// Closes the connection; the future completes when it is closed (nil if it already was).
    func close() -> EventLoopFuture<Void>? {
        guard let context, context.channel.isActive else { return nil }
        if state == .ready { state = .done }
        let promise = context.eventLoop.makePromise(of: Void.self)
        context.close(promise: promise)
        return promise.futureResult
    }

    private func write(_ message: Message, _ context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: 256)
        message.encodeFrame(into: &buffer)
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    }

    /// A typical state report of a small edge box with one model installed.
    static let stateReport = StateReport(
        requestID: 1,
        software: software,
        capabilities: [
            "arch": "aarch64", "ram": "536870912", "storage": "8589934592", "accelerator": "none",
            "os": "linux", "cores": "4",
        ],
        installedModels: [
            InstalledModel(name: "digits-mlp", version: 2, variant: "int8", sha256: [UInt8](repeating: 0xab, count: 32))
        ]
    )
}

@available(*, unavailable)
extension SimulatedAgentHandler: Sendable {}
