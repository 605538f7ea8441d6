/// Writes frames and fields into a caller's buffer. A write that does not fit sets ``overflowed`` and writes
/// nothing more; ``finishFrame(_:)`` then reports ``TinyWireError/bufferTooSmall``, so no caller sends a
/// truncated frame.
public struct TinyWireWriter {
    private let buffer: UnsafeMutableRawBufferPointer
    /// Bytes written so far.
    public private(set) var count = 0
    /// True once a write did not fit.
    public private(set) var overflowed = false

    public init(_ buffer: UnsafeMutableRawBufferPointer) {
        self.buffer = buffer
    }

    /// The bytes written so far.
    public var written: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: buffer[0..<count])
    }

    public mutating func byte(_ value: UInt8) {
        guard !overflowed, count < buffer.count else {
            overflowed = true
            return
        }
        buffer[count] = value
        count += 1
    }

    /// An unsigned LEB128 varint, shortest form (SPEC.md 3.1).
    public mutating func varint(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            byte(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        byte(UInt8(rest))
    }

    public mutating func varint(_ value: Int) {
        varint(UInt64(truncatingIfNeeded: value))
    }

    /// Raw bytes, no length (a `bytes[N]` field).
    public mutating func fixed(_ bytes: UnsafeRawBufferPointer) {
        guard !overflowed, bytes.count <= buffer.count - count else {
            overflowed = true
            return
        }
        if let source = bytes.baseAddress, let target = buffer.baseAddress {
            (target + count).copyMemory(from: source, byteCount: bytes.count)
        }
        count += bytes.count
    }

    /// A varint length and the bytes (a `bytes` or `string` field).
    public mutating func lengthPrefixed(_ bytes: UnsafeRawBufferPointer) {
        varint(UInt64(bytes.count))
        fixed(bytes)
    }

    /// Static text as a `string` field.
    public mutating func string(_ text: StaticString) {
        text.withUTF8Buffer { lengthPrefixed(UnsafeRawBufferPointer($0)) }
    }

    /// A map from pairs already sorted by key (SPEC.md 3.7); unsorted or repeated keys are refused as
    /// ``TinyWireError/invalidValue`` by ``finishFrame(_:)``.
    public mutating func map(_ pairs: UnsafeBufferPointer<TinyPair>) {
        varint(UInt64(pairs.count))
        for index in 0..<pairs.count {
            if index > 0, !TinyBytes.precedes(pairs[index - 1].key, pairs[index].key) { unsorted = true }
            lengthPrefixed(pairs[index].key)
            lengthPrefixed(pairs[index].value)
        }
    }

    private var unsorted = false

    /// Starts a frame: 4 length bytes to be filled by ``finishFrame(_:)``, then the type byte. Returns its start.
    public mutating func beginFrame(_ type: TinyMessageType) -> Int {
        let start = count
        fixedZeros(4)
        byte(type.rawValue)
        return start
    }

    /// Fills in the length of the frame begun at `start`; returns the whole frame.
    public mutating func finishFrame(_ start: Int) throws(TinyWireError) -> UnsafeRawBufferPointer {
        guard !overflowed else { throw .bufferTooSmall }
        guard !unsorted else { throw .invalidValue }
        let length = UInt32(count - start - 4)
        buffer[start] = UInt8(truncatingIfNeeded: length >> 24)
        buffer[start + 1] = UInt8(truncatingIfNeeded: length >> 16)
        buffer[start + 2] = UInt8(truncatingIfNeeded: length >> 8)
        buffer[start + 3] = UInt8(truncatingIfNeeded: length)
        return UnsafeRawBufferPointer(rebasing: buffer[start..<count])
    }

    private mutating func fixedZeros(_ n: Int) {
        for _ in 0..<n { byte(0) }
    }
}

/// One map entry for ``TinyWireWriter/map(_:)``: key and value as UTF-8 bytes.
public struct TinyPair {
    public var key: UnsafeRawBufferPointer
    public var value: UnsafeRawBufferPointer

    public init(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        self.key = key
        self.value = value
    }
}
