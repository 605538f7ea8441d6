/// A signed release manifest (Protocol/MANIFEST.md) as a leaf reads it: parsed in place from the caller's buffer,
/// with every length and count bounded before use and nothing allocated, and its Ed25519 signature checked against
/// the pinned release public key.
///
/// Text fields are not copied: they are ``TinyByteRange``s into the caller's buffer, which must stay alive and
/// unchanged while the ranges are used. The decoder accepts exactly what FleetTrust's `SignedManifest(decoding:)`
/// accepts, with one exception it cannot follow without Unicode tables: FleetTrust also refuses a map whose keys
/// are different bytes but canonically equivalent Unicode strings. A manifest signed by the coordinator never has
/// such keys (it signs a dictionary of Swift strings), so a signed manifest is accepted by both or by neither.
public struct TinyManifest: Equatable, Sendable {
    /// Whether the manifest offers a version (`release`) or directs a rollback to the version it names.
    public enum Kind: UInt8, Sendable {
        case release = 0
        case rollback = 1
    }

    /// The largest signed manifest accepted (FleetTrust's `SignedManifest.maximumEncodedSize`).
    public static var maximumEncodedSize: Int { 80 * 1024 }

    /// The model name (UTF-8, 1 to 128 bytes).
    public var model: TinyByteRange
    /// 0 to 2^31 - 1.
    public var version: UInt32
    /// The variant (UTF-8, 0 to 128 bytes), e.g. `int8`.
    public var variant: TinyByteRange
    /// The blob's size in bytes (at most 2^63 - 1).
    public var size: UInt64
    /// The blob's SHA-256.
    public var sha256: TinyDigest32
    /// The requirements map as encoded (entry count, then key and value strings); see ``value(forKey:in:of:)``.
    public var requirements: TinyByteRange
    /// The metadata map as encoded; see ``value(forKey:in:of:)``.
    public var metadata: TinyByteRange
    /// Milliseconds since 1970-01-01T00:00:00Z.
    public var issuedAtMilliseconds: UInt64
    public var kind: Kind
    /// The one device the manifest is for (UTF-8, 1 to 128 bytes), or nil for every device.
    public var targetDevice: TinyByteRange?

    /// Parses the signed manifest in `bytes` and checks its signature with `releaseKey` (32 bytes).
    ///
    /// - Throws: the first problem found: a ``TinyManifestError`` naming a broken encoding rule, then
    ///   ``TinyManifestError/badReleaseKey`` or ``TinyManifestError/badSignature``.
    public init(verifying bytes: UnsafeRawBufferPointer, releaseKey: UnsafeRawBufferPointer) throws(TinyManifestError) {
        try self.init(parsing: bytes)
        guard releaseKey.count == TinyEd25519.publicKeyCount else { throw .badReleaseKey }
        guard Self.signatureHolds(bytes, releaseKey: releaseKey) else { throw .badSignature }
    }

    /// Whether ``init(verifying:releaseKey:)`` accepts `bytes`, without a manifest value in any frame under
    /// Ed25519's (on the Cortex-M4, copies of the parsed manifest took 670 B of stack under the verification).
    public static func isSigned(_ bytes: UnsafeRawBufferPointer, releaseKey: UnsafeRawBufferPointer) -> Bool {
        isWellFormed(bytes) && releaseKey.count == TinyEd25519.publicKeyCount
            && signatureHolds(bytes, releaseKey: releaseKey)
    }

    @inline(never)
    private static func isWellFormed(_ bytes: UnsafeRawBufferPointer) -> Bool {
        (try? TinyManifest(parsing: bytes)) != nil
    }

    /// The Ed25519 signature in the last 64 bytes of a well-formed manifest `bytes` holds for `releaseKey`.
    @inline(never)
    private static func signatureHolds(_ bytes: UnsafeRawBufferPointer, releaseKey: UnsafeRawBufferPointer) -> Bool {
        let signed = bytes.count - TinyEd25519.signatureCount
        return TinyEd25519.verify(
            signature: UnsafeRawBufferPointer(rebasing: bytes[signed...]),
            message: UnsafeRawBufferPointer(rebasing: bytes[..<signed]),
            publicKey: releaseKey
        )
    }

    /// Parses the signed manifest in `bytes` without checking its signature (a leaf acts only on
    /// ``init(verifying:releaseKey:)``; this serves tools and tests).
    public init(parsing bytes: UnsafeRawBufferPointer) throws(TinyManifestError) {
        guard bytes.count <= Self.maximumEncodedSize else { throw .tooLarge }
        var cursor = ManifestCursor(bytes)
        try cursor.expectDomainPrefix()
        model = try cursor.string(bytes: 1...128)
        version = UInt32(try cursor.varint(maximum: UInt64(Int32.max)))
        variant = try cursor.string(bytes: 0...128)
        size = try cursor.varint(maximum: UInt64(Int64.max))
        sha256 = TinyDigest32(bytes: cursor.slice(try cursor.raw(count: 32)))
        requirements = try cursor.map()
        metadata = try cursor.map()
        issuedAtMilliseconds = try cursor.varint(maximum: 253_402_300_799_999)
        guard let kind = Kind(rawValue: try cursor.byte()) else { throw .unknownKind }
        self.kind = kind
        switch try cursor.byte() {
        case 0: targetDevice = nil
        case 1: targetDevice = try cursor.string(bytes: 1...128)
        default: throw .badOptionalFlag
        }
        guard cursor.remaining >= TinyEd25519.signatureCount else { throw .truncated }
        guard cursor.remaining == TinyEd25519.signatureCount else { throw .trailingBytes }
    }

    /// The value of `key` in `map` (``requirements`` or ``metadata``) of the manifest in `bytes`, or nil.
    public static func value(
        forKey key: UnsafeRawBufferPointer,
        in map: TinyByteRange,
        of bytes: UnsafeRawBufferPointer
    )
        -> TinyByteRange?
    {
        var cursor = ManifestCursor(UnsafeRawBufferPointer(rebasing: bytes[..<(map.offset + map.count)]))
        cursor.offset = map.offset
        // The map was checked when the manifest was parsed, so these reads cannot fail.
        guard let count = try? cursor.varint(maximum: 64) else { return nil }
        for _ in 0..<count {
            guard let entryKey = try? cursor.string(bytes: 0...64), let value = try? cursor.string(bytes: 0...512)
            else { return nil }
            if entryKey.equals(key, in: bytes) { return value }
        }
        return nil
    }
}

/// Where a field lies in the caller's buffer.
public struct TinyByteRange: Equatable, Sendable {
    public var offset: Int
    public var count: Int

    public init(offset: Int, count: Int) {
        self.offset = offset
        self.count = count
    }

    /// The field's bytes in `bytes` (the buffer it was parsed from).
    public func slice(of bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)])
    }

    /// Whether the field's bytes in `bytes` are exactly `other`.
    public func equals(_ other: UnsafeRawBufferPointer, in bytes: UnsafeRawBufferPointer) -> Bool {
        guard other.count == count else { return false }
        let field = slice(of: bytes)
        for index in 0..<count where field[index] != other[index] { return false }
        return true
    }
}

/// Why a signed manifest was refused; each case names the rule of Protocol/MANIFEST.md it breaks.
public enum TinyManifestError: Error, Equatable, Sendable {
    /// Over ``TinyManifest/maximumEncodedSize`` bytes.
    case tooLarge
    /// A field runs past the end, or fewer than 64 bytes are left for the signature.
    case truncated
    /// The bytes do not start with `"tinyfleet-v1 manifest\0"`.
    case wrongDomain
    /// A varint that is not minimal, longer than 10 bytes or above 2^64 - 1.
    case malformedVarint
    /// A value, length or count above its limit, or a name shorter than its minimum.
    case outOfRange
    /// A string that is not valid UTF-8.
    case invalidUTF8
    /// Map keys not in strictly increasing byte order (unsorted or repeated).
    case unsortedKeys
    /// A kind byte other than 0 (release) and 1 (rollback).
    case unknownKind
    /// An optional flag other than 0 and 1.
    case badOptionalFlag
    /// Bytes after the 64-byte signature.
    case trailingBytes
    /// The release public key given is not 32 bytes.
    case badReleaseKey
    /// The signature does not verify with the release public key.
    case badSignature
}
