/// Reassembles frames (SPEC.md section 2) from a byte stream into a caller's buffer. The length prefix is checked
/// against the limit as soon as its 4 bytes are in, before anything else is kept, so a peer cannot make the kit
/// hold more than one frame of at most ``maximumLength``.
public struct TinyFrameReader {
    private let buffer: UnsafeMutableRawBufferPointer
    private var filled = 0
    private var pendingConsume = 0
    /// The largest frame length `L` (type byte plus payload) accepted; at most the buffer's size minus 4.
    public var maximumLength: Int

    /// `buffer` must hold at least 4 + 1024 bytes (the smallest maximum a coordinator negotiates).
    public init(buffer: UnsafeMutableRawBufferPointer) {
        self.buffer = buffer
        maximumLength = buffer.count - 4
    }

    /// Forgets everything buffered (a new connection).
    public mutating func reset() {
        filled = 0
        pendingConsume = 0
    }

    /// Room left for ``append(_:)`` / ``receive(from:)`` (after dropping the frame already returned).
    private mutating func freeSpace() -> UnsafeMutableRawBufferPointer {
        compact()
        return UnsafeMutableRawBufferPointer(rebasing: buffer[filled..<buffer.count])
    }

    /// Reads what the transport has into the buffer. Returns the bytes read, or -1 when the link closed.
    public mutating func receive<T: TinyTransport>(from transport: inout T) -> Int {
        let space = freeSpace()
        guard space.count > 0 else { return 0 }
        let count = transport.receive(into: space)
        if count > 0 { filled += count }
        return count
    }

    /// Copies bytes in (tests, and transports that push). Returns how many fit.
    public mutating func append(_ bytes: UnsafeRawBufferPointer) -> Int {
        let space = freeSpace()
        let count = min(space.count, bytes.count)
        if count > 0, let source = bytes.baseAddress, let target = space.baseAddress {
            target.copyMemory(from: source, byteCount: count)
        }
        filled += count
        return count
    }

    /// The next complete frame, or nil until more bytes arrive. The frame's payload is valid until the next call.
    public mutating func next() throws(TinyWireError) -> TinyFrame? {
        compact()
        guard filled >= 4 else { return nil }
        let length =
            Int(buffer[0]) << 24 | Int(buffer[1]) << 16 | Int(buffer[2]) << 8 | Int(buffer[3])
        guard length > 0 else { throw .emptyFrame }
        guard length <= maximumLength, length <= buffer.count - 4 else { throw .frameTooLarge }
        guard filled >= 4 + length else { return nil }
        pendingConsume = 4 + length
        let payload = UnsafeRawBufferPointer(rebasing: buffer[5..<(4 + length)])
        return TinyFrame(type: buffer[4], payload: payload)
    }

    private mutating func compact() {
        guard pendingConsume > 0 else { return }
        let rest = filled - pendingConsume
        if rest > 0, let base = buffer.baseAddress {
            base.copyMemory(from: base + pendingConsume, byteCount: rest)
        }
        filled = rest
        pendingConsume = 0
    }
}

/// One frame: its type byte and payload (a slice of the reader's buffer).
public struct TinyFrame {
    public var type: UInt8
    public var payload: UnsafeRawBufferPointer
}
