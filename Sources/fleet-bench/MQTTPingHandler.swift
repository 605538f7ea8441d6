import NIOCore

/// What a ``LoadRun`` needs from a connection once it is up.
protocol LoadConnection: AnyObject {
    var outstandingHeartbeats: Int { get }
    func startHeartbeats(initialDelay: TimeAmount, interval: TimeAmount)
    func stopHeartbeats()
    func close() -> EventLoopFuture<Void>?
}

/// One MQTT 3.1.1 client for the reference measurement against mosquitto (`load-gen --mqtt`): CONNECT, then a
/// PINGREQ (`c0 00`) at each heartbeat; the broker's PINGRESP (`d0 00`) is the acknowledgement. Same timing and
/// matching as ``SimulatedAgentHandler``, so both servers are measured by the same client.
final class MQTTPingHandler: ChannelInboundHandler, LoadConnection {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private static let pingRequest = ByteBuffer(bytes: [0xC0, 0x00])

    private enum State {
        case connecting
        case awaitingConnack
        case ready
        case done
    }

    private let run: LoadRun
    private let clientID: String
    private var state = State.connecting
    private var context: ChannelHandlerContext?
    private var received: ByteBuffer?
    private var sentAt = CircularBuffer<NIODeadline>(initialCapacity: 2)
    private var heartbeatTimer: RepeatedTask?
    private var handshakeTimer: Scheduled<Void>?

    init(run: LoadRun, clientID: String) {
        self.run = run
        self.clientID = clientID
    }

    var outstandingHeartbeats: Int { state == .ready ? sentAt.count : 0 }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) {
        stopHeartbeats()
        handshakeTimer?.cancel()
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        state = .awaitingConnack
        let keepAlive = UInt16(clamping: run.settings.interval.nanoseconds * 3 / 2 / 1_000_000_000)
        var packet = context.channel.allocator.buffer(capacity: 64)
        let id = Array(clientID.utf8)
        // Fixed header, then protocol name "MQTT", level 4, flags (clean session), keep-alive, client id.
        packet.writeBytes([0x10, UInt8(12 + id.count), 0x00, 0x04])
        packet.writeString("MQTT")
        packet.writeBytes([0x04, 0x02])
        packet.writeInteger(keepAlive)
        packet.writeInteger(UInt16(id.count))
        packet.writeBytes(id)
        context.writeAndFlush(wrapOutboundOut(packet), promise: nil)
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        handshakeTimer = context.eventLoop.scheduleTask(in: run.settings.handshakeTimeout) {
            bound.value.fail("handshake-timeout")
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
        if state == .ready || state == .done { context.close(promise: nil) } else { fail("error-in-handshake") }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        if received == nil { received = incoming } else { received?.writeBuffer(&incoming) }
        let now = NIODeadline.now()
        // Packets from the broker here are CONNACK (4 bytes) and PINGRESP (2 bytes): short remaining lengths.
        while var buffer = received, buffer.readableBytes >= 2,
            let header = buffer.readInteger(as: UInt8.self), let length = buffer.readInteger(as: UInt8.self),
            length < 128, buffer.readableBytes >= Int(length), let body = buffer.readSlice(length: Int(length))
        {
            received = buffer.readableBytes > 0 ? buffer : nil
            switch header {
            case 0x20 where state == .awaitingConnack:
                let code = body.getInteger(at: body.readerIndex + 1, as: UInt8.self) ?? 0xFF
                guard code == 0 else {
                    fail("connack-\(code)")
                    return
                }
                handshakeTimer?.cancel()
                state = .ready
                run.becameReady(self, enrolled: false)
            case 0xD0 where state == .ready:
                if let sent = sentAt.popFirst() { run.ack(sentAt: sent, now: now) }
            default:
                run.unexpected("mqtt-packet-0x\(String(header, radix: 16))")
            }
        }
    }

    private func fail(_ kind: String) {
        guard state != .ready && state != .done else { return }
        handshakeTimer?.cancel()
        state = .done
        run.handshakeFailed(kind)
        context?.close(promise: nil)
    }

    func startHeartbeats(initialDelay: TimeAmount, interval: TimeAmount) {
        guard let context, state == .ready else { return }
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        heartbeatTimer = context.eventLoop.scheduleRepeatedTask(initialDelay: initialDelay, delay: interval) { _ in
            bound.value.sendPing()
        }
    }

    func stopHeartbeats() {
        heartbeatTimer?.cancel()
        heartbeatTimer = nil
    }

    private func sendPing() {
        guard let context, state == .ready else { return }
        sentAt.append(.now())
        run.heartbeatSent()
        context.writeAndFlush(wrapOutboundOut(Self.pingRequest), promise: nil)
    }

    func close() -> EventLoopFuture<Void>? {
        guard let context, context.channel.isActive else { return nil }
        if state == .ready { state = .done }
        let promise = context.eventLoop.makePromise(of: Void.self)
        context.close(promise: promise)
        return promise.futureResult
    }
}

@available(*, unavailable)
extension MQTTPingHandler: Sendable {}
