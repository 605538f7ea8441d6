/// Why a frame or a field could not be read or written. Mirrors the coordinator's error 101/102/103 cases
/// (SPEC.md sections 2 and 3) plus the kit's own buffer limits.
public enum TinyWireError: Error, Equatable {
    /// A field runs past the end of the payload.
    case truncated
    /// A varint longer than 10 bytes, over 64 bits, or not in its shortest form.
    case malformedVarint
    /// A value outside its field's range (an enumeration byte, a bounded integer, a fixed length).
    case invalidValue
    /// A string field that is not valid UTF-8.
    case invalidUTF8
    /// Map keys not strictly ascending (or repeated).
    case unsortedMap
    /// Bytes left after the last field.
    case trailingBytes
    /// A frame length of 0 (no type byte).
    case emptyFrame
    /// A frame length above what the receiver accepts.
    case frameTooLarge
    /// A type byte the protocol does not define.
    case unknownMessageType
    /// The caller's buffer is too small for what is being written.
    case bufferTooSmall
}
