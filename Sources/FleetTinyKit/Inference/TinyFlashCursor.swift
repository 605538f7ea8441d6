/// Reads a byte range of flash front to back through a 32-byte buffer: the safetensors header parser's input.
struct TinyFlashCursor<Flash: TinyFlash> {
    private let flash: Flash
    private(set) var offset: Int
    private let end: Int
    private var buffer = InlineArray<32, UInt8>(repeating: 0)
    private var bufferStart = 0
    private var bufferCount = 0

    init(flash: Flash, offset: Int, end: Int) {
        self.flash = flash
        self.offset = offset
        self.end = end
    }

    /// The next byte, or nil at the end of the range or on a read error. (The cursor's calls are not inlined: the
    /// header parser calls them from many places.)
    @inline(never)
    mutating func next() -> UInt8? {
        guard let byte = peek() else { return nil }
        offset += 1
        return byte
    }

    /// The next byte without consuming it.
    @inline(never)
    mutating func peek() -> UInt8? {
        guard offset < end else { return nil }
        if offset >= bufferStart + bufferCount || offset < bufferStart {
            let (count, position, source) = (min(32, end - offset), offset, flash)
            let read = withUnsafeMutableBytes(of: &buffer) {
                source.read(at: position, into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<count]))
            }
            guard read else { return nil }
            bufferStart = offset
            bufferCount = count
        }
        return buffer[offset - bufferStart]
    }

    /// Skips spaces, tabs, carriage returns and newlines; returns the next byte without consuming it.
    @inline(never)
    mutating func skipSpace() -> UInt8? {
        while let byte = peek(), byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { offset += 1 }
        return peek()
    }

    /// Consumes `byte` after optional space; false when something else comes.
    @inline(never)
    mutating func expect(_ byte: UInt8) -> Bool {
        guard skipSpace() == byte else { return false }
        offset += 1
        return true
    }
}
