import NIOCore

/// Splits a byte stream into ``Frame``s: a 4-byte big-endian length, then that many bytes
/// (one message-type byte and the payload).
///
/// The announced length is checked against ``maximumFrameLength`` as soon as the 4 length bytes
/// arrive, before anything is buffered or allocated for the frame.
public struct FrameDecoder: NIOSingleStepByteToMessageDecoder {
    public typealias InboundOut = Frame

    private enum ReadState {
        case waitingForHeader
        case waitingForFrame(length: Int)
    }

    private var state: ReadState = .waitingForHeader
    private let limit: FrameLengthLimit

    /// The largest accepted length (type byte plus payload).
    public var maximumFrameLength: Int { limit.maximum }

    public init(maximumFrameLength: Int = Frame.handshakeMaximumLength) {
        self.limit = FrameLengthLimit(maximum: maximumFrameLength)
    }

    /// A decoder whose limit the connection can raise once the handshake has negotiated it.
    public init(limit: FrameLengthLimit) {
        self.limit = limit
    }

    public mutating func decode(buffer: inout ByteBuffer) throws -> Frame? {
        if case .waitingForHeader = state {
            guard let length = buffer.readInteger(endianness: .big, as: UInt32.self) else { return nil }
            guard length > 0 else { throw FleetWireError.emptyFrame }
            guard length <= maximumFrameLength else {
                throw FleetWireError.frameTooLarge(length: length, maximum: maximumFrameLength)
            }
            state = .waitingForFrame(length: Int(length))
        }
        guard case .waitingForFrame(let length) = state,
            let type = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self),
            buffer.readableBytes >= length
        else { return nil }
        buffer.moveReaderIndex(forwardBy: 1)
        guard let payload = buffer.readSlice(length: length - 1) else { return nil }
        state = .waitingForHeader
        return Frame(type: type, payload: payload)
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> Frame? {
        try decode(buffer: &buffer)
    }
}

@available(*, unavailable)
extension FrameDecoder: Sendable {}

/// The frame length limit of one connection, shared between its decoder and its session handler
/// (both live on the connection's event loop).
public final class FrameLengthLimit {
    public var maximum: Int
    public init(maximum: Int) { self.maximum = maximum }
}

@available(*, unavailable)
extension FrameLengthLimit: Sendable {}
