import NIOCore

/// Splits a byte stream into lines (`\n`, an optional `\r` before it is dropped), each at most
/// `maximumLength` bytes; a longer line is an error and ends the connection.
///
/// ```
/// {"op":"infer","rows":[[0,0.3125,…]]}\n
/// └──────────── one request ──────────┘
/// ```
struct LineFrameDecoder: NIOSingleStepByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    /// A line longer than the limit.
    struct LineTooLong: Error {}

    let maximumLength: Int

    mutating func decode(buffer: inout ByteBuffer) throws -> ByteBuffer? {
        let view = buffer.readableBytesView
        guard let newline = view.firstIndex(of: UInt8(ascii: "\n")) else {
            if buffer.readableBytes > maximumLength { throw LineTooLong() }
            return nil
        }
        let length = newline - view.startIndex
        guard length <= maximumLength, var line = buffer.readSlice(length: length) else { throw LineTooLong() }
        buffer.moveReaderIndex(forwardBy: 1)
        if line.readableBytesView.last == UInt8(ascii: "\r") {
            line = line.getSlice(at: line.readerIndex, length: line.readableBytes - 1) ?? line
        }
        return line
    }

    mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> ByteBuffer? {
        try decode(buffer: &buffer)
    }
}

@available(*, unavailable)
extension LineFrameDecoder: Sendable {}
