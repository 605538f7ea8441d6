import FleetWire
import NIOCore

/// What the gateway reads from a leaf's serial line: a whole frame, or the news that bytes were lost and the frames
/// in flight with them (SPEC 15b.6).
enum SerialLineEvent: Sendable {
    case frame(Frame)
    case lostSync(String)
}

/// Splits a serial line's bytes into frames with ``FrameDecoder`` and resynchronises when they stop making sense. A
/// UART has no connection boundaries: after a bad length (0, or over the limit) the handler reports
/// ``SerialLineEvent/lostSync(_:)`` and discards every byte until the line has been silent for ``silence``; a frame
/// whose bytes stop arriving for as long is dropped the same way. At most 4 + the limit bytes are ever buffered.
final class SerialFrameHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = SerialLineEvent

    /// How long the line must be quiet to end a partial frame or a discarding spell.
    static let silence = TimeAmount.milliseconds(500)

    private enum State {
        case framing
        case discarding
    }

    private let maximumFrameLength: Int
    private var buffer = ByteBuffer()
    private var state = State.framing
    private var quietTimer: Scheduled<Void>?

    init(maximumFrameLength: Int) {
        self.maximumFrameLength = maximumFrameLength
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        restartQuietTimer(context)
        guard state == .framing else { return }
        buffer.writeBuffer(&bytes)
        do {
            // A fresh decoder for each frame, on a copy: an incomplete frame leaves `buffer` untouched, so its
            // bytes (length included) are what a quiet line drops.
            while true {
                var rest = buffer
                var decoder = FrameDecoder(maximumFrameLength: maximumFrameLength)
                guard let frame = try decoder.decode(buffer: &rest) else { break }
                buffer = rest
                context.fireChannelRead(wrapInboundOut(.frame(frame)))
            }
            buffer.discardReadBytes()
        } catch {
            lose(context, "\(error)")
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        quietTimer?.cancel()
    }

    private func restartQuietTimer(_ context: ChannelHandlerContext) {
        quietTimer?.cancel()
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        quietTimer = context.eventLoop.scheduleTask(in: Self.silence) {
            let (handler, context) = loopBound.value
            handler.lineWentQuiet(context)
        }
    }

    private func lineWentQuiet(_ context: ChannelHandlerContext) {
        switch state {
        case .discarding:
            state = .framing
        case .framing where buffer.readableBytes > 0:
            lose(context, "a frame stopped after \(buffer.readableBytes) bytes")
            state = .framing
        case .framing:
            break
        }
    }

    /// Drops what is buffered, starts framing afresh once the line is quiet, and tells the gateway.
    private func lose(_ context: ChannelHandlerContext, _ reason: String) {
        buffer.clear()
        state = .discarding
        context.fireChannelRead(wrapInboundOut(.lostSync(reason)))
    }
}

@available(*, unavailable)
extension SerialFrameHandler: Sendable {}
