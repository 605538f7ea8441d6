/// A SHA-256 digest: 32 bytes, held in the value itself (no allocation).
///
/// `==` compares every byte whatever the first difference, so comparing a computed digest with an expected one
/// takes the same time for any mismatch.
public struct TinyDigest32: Equatable, Sendable {
    /// The bytes in digest order (byte 0 first in memory).
    var storage: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

    /// Thirty-two zero bytes.
    public init() {}

    /// The digest whose bytes are the first 32 of `bytes` (which must hold at least 32).
    public init(bytes: UnsafeRawBufferPointer) {
        precondition(bytes.count >= 32, "TinyDigest32 needs 32 bytes")
        Swift.withUnsafeMutableBytes(of: &storage) {
            $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[0..<32]))
        }
    }

    /// The number of bytes: 32.
    public static var count: Int { 32 }

    /// Byte `index` (0 ..< 32) of the digest.
    public subscript(index: Int) -> UInt8 {
        precondition(index >= 0 && index < 32, "TinyDigest32 index out of range")
        return Swift.withUnsafeBytes(of: storage) { $0[index] }
    }

    /// Calls `body` with the 32 bytes of the digest.
    public func withUnsafeBytes<Result, Failure: Error>(
        _ body: (UnsafeRawBufferPointer) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        var copy = storage
        return try Swift.withUnsafeBytes(of: &copy) { (raw) throws(Failure) -> Result in try body(raw) }
    }

    public static func == (lhs: TinyDigest32, rhs: TinyDigest32) -> Bool {
        let difference =
            (lhs.storage.0 ^ rhs.storage.0) | (lhs.storage.1 ^ rhs.storage.1)
            | (lhs.storage.2 ^ rhs.storage.2) | (lhs.storage.3 ^ rhs.storage.3)
        return difference == 0
    }
}

/// A SHA-512 digest: 64 bytes, held in the value itself (no allocation). `==` compares every byte.
public struct TinyDigest64: Equatable, Sendable {
    /// The bytes in digest order (byte 0 first in memory).
    var storage: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)

    /// Sixty-four zero bytes.
    public init() {}

    /// The digest whose bytes are the first 64 of `bytes` (which must hold at least 64).
    public init(bytes: UnsafeRawBufferPointer) {
        precondition(bytes.count >= 64, "TinyDigest64 needs 64 bytes")
        Swift.withUnsafeMutableBytes(of: &storage) {
            $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[0..<64]))
        }
    }

    /// The number of bytes: 64.
    public static var count: Int { 64 }

    /// Byte `index` (0 ..< 64) of the digest.
    public subscript(index: Int) -> UInt8 {
        precondition(index >= 0 && index < 64, "TinyDigest64 index out of range")
        return Swift.withUnsafeBytes(of: storage) { $0[index] }
    }

    /// Calls `body` with the 64 bytes of the digest.
    public func withUnsafeBytes<Result, Failure: Error>(
        _ body: (UnsafeRawBufferPointer) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        var copy = storage
        return try Swift.withUnsafeBytes(of: &copy) { (raw) throws(Failure) -> Result in try body(raw) }
    }

    public static func == (lhs: TinyDigest64, rhs: TinyDigest64) -> Bool {
        let a = lhs.storage
        let b = rhs.storage
        let difference =
            (a.0 ^ b.0) | (a.1 ^ b.1) | (a.2 ^ b.2) | (a.3 ^ b.3) | (a.4 ^ b.4) | (a.5 ^ b.5) | (a.6 ^ b.6)
            | (a.7 ^ b.7)
        return difference == 0
    }
}
