/// A signed release manifest (Protocol/MANIFEST.md) read in place: the fields the leaf needs, as slices of the
/// bytes it was decoded from. ``verify(releaseKey:)`` checks the signature with the pinned release key.
public struct TinyManifest {
    /// The canonical bytes (what is signed).
    public var canonical: UnsafeRawBufferPointer
    public var signature: UnsafeRawBufferPointer
    public var model: UnsafeRawBufferPointer
    public var version: Int
    public var variant: UnsafeRawBufferPointer
    public var size: Int
    public var sha256: UnsafeRawBufferPointer
    /// 0 release, 1 rollback.
    public var kind: UInt8
    /// Empty when the manifest is for every device.
    public var targetDevice: UnsafeRawBufferPointer

    /// The largest signed manifest accepted (MANIFEST.md: 80 KiB).
    public static let maximumLength = 80 * 1024
    static let domain: StaticString = "tinyfleet-v1 manifest\0"

    /// Decodes canonical bytes followed by a 64-byte signature; nil when they break MANIFEST.md's rules.
    public init?(_ signed: UnsafeRawBufferPointer) {
        guard signed.count > 64 + 22, signed.count <= Self.maximumLength else { return nil }
        var reader = TinyWireReader(signed)
        guard let parsed = try? Self.read(&reader), reader.remaining == 64 else { return nil }
        self = parsed
        canonical = UnsafeRawBufferPointer(rebasing: signed[0..<reader.position])
        signature = UnsafeRawBufferPointer(rebasing: signed[reader.position..<signed.count])
    }

    private init(
        model: UnsafeRawBufferPointer,
        version: Int,
        variant: UnsafeRawBufferPointer,
        size: Int,
        sha256: UnsafeRawBufferPointer,
        kind: UInt8,
        targetDevice: UnsafeRawBufferPointer
    ) {
        canonical = UnsafeRawBufferPointer(start: nil, count: 0)
        signature = canonical
        self.model = model
        self.version = version
        self.variant = variant
        self.size = size
        self.sha256 = sha256
        self.kind = kind
        self.targetDevice = targetDevice
    }

    private static func read(_ reader: inout TinyWireReader) throws(TinyWireError) -> TinyManifest {
        let prefix = try reader.fixed(22)
        guard TinyBytes.equal(prefix, domain) else { throw .invalidValue }
        let model = try reader.string()
        guard model.count >= 1, model.count <= 128 else { throw .invalidValue }
        let version = try reader.int31()
        let variant = try reader.string()
        guard variant.count <= 128 else { throw .invalidValue }
        let size = try reader.int63()
        let sha256 = try reader.fixed(32)
        try checkMap(&reader)
        try checkMap(&reader)
        _ = try reader.bounded(253_402_300_799_999)
        let kind = try reader.byte()
        guard kind <= 1 else { throw .invalidValue }
        var target = UnsafeRawBufferPointer(start: nil, count: 0)
        switch try reader.byte() {
        case 0: break
        case 1:
            target = try reader.string()
            guard target.count >= 1, target.count <= 128 else { throw .invalidValue }
        default: throw .invalidValue
        }
        return TinyManifest(
            model: model,
            version: version,
            variant: variant,
            size: size,
            sha256: sha256,
            kind: kind,
            targetDevice: target
        )
    }

    /// A requirements or metadata map: sorted, at most 64 entries, keys ≤ 64 bytes, values ≤ 512.
    private static func checkMap(_ reader: inout TinyWireReader) throws(TinyWireError) {
        var entries = TinyMapReader(try reader.map())
        var count = 0
        while let (key, value) = entries.next() {
            count += 1
            guard count <= 64, key.count <= 64, value.count <= 512 else { throw .invalidValue }
        }
    }

    /// True when the signature verifies with `releaseKey` (32 bytes).
    public func verify(releaseKey: UnsafeRawBufferPointer) -> Bool {
        releaseKey.count == 32
            && TinyEd25519.verify(signature: signature, message: canonical, publicKey: releaseKey)
    }
}
