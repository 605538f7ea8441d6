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
    /// The largest accepted length (type byte plus payload). May be changed after the handshake.
    public var maximumFrameLength: Int

    public init(maximumFrameLength: Int = Frame.handshakeMaximumLength) {
        self.maximumFrameLength = maximumFrameLength
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
