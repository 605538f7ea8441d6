import NIOCore

/// Decodes inbound ``Frame``s into ``Message``s. Frame length limits are the ``FrameDecoder``'s job.
public final class MessageDecoderHandler: ChannelInboundHandler {
    public typealias InboundIn = Frame
    public typealias InboundOut = Message

    public init() {}

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        do {
            context.fireChannelRead(wrapInboundOut(try Message(frame: frame)))
        } catch {
            context.fireErrorCaught(error)
        }
    }
}

/// Encodes outbound ``Message``s as complete frames (length prefix included).
public final class MessageEncoderHandler: MessageToByteEncoder {
    public typealias OutboundIn = Message

    public init() {}

    public func encode(data: Message, out: inout ByteBuffer) throws {
        data.encodeFrame(into: &out)
    }
}

@available(*, unavailable)
extension MessageDecoderHandler: Sendable {}

@available(*, unavailable)
extension MessageEncoderHandler: Sendable {}
