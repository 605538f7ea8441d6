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
    /// Bytes at the start of the buffer already searched for a newline, so that a line arriving in many small
    /// reads is scanned once in all (linear), not once per read (quadratic).
    private(set) var scanned = 0

    init(maximumLength: Int) {
        self.maximumLength = maximumLength
    }

    mutating func decode(buffer: inout ByteBuffer) throws -> ByteBuffer? {
        let view = buffer.readableBytesView
        guard let newline = view.dropFirst(scanned).firstIndex(of: UInt8(ascii: "\n")) else {
            if buffer.readableBytes > maximumLength { throw LineTooLong() }
            scanned = buffer.readableBytes
            return nil
        }
        scanned = 0
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
