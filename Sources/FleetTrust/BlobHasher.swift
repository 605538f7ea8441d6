import Crypto

/// Incremental SHA-256 of a model blob as it arrives in chunks, to compare with ``ReleaseManifest/sha256``.
public struct BlobHasher {
    private var hasher = SHA256()
    /// Bytes hashed so far, to compare with ``ReleaseManifest/size``.
    public private(set) var byteCount = 0

    public init() {}

    public mutating func update(_ chunk: some Collection<UInt8>) {
        let hashed: Void? = chunk.withContiguousStorageIfAvailable {
            hasher.update(bufferPointer: UnsafeRawBufferPointer($0))
        }
        if hashed == nil { hasher.update(data: Array(chunk)) }
        byteCount += chunk.count
    }

    /// The 32-byte digest of everything passed to ``update(_:)``. The hasher may be finalised more than once.
    public func finalize() -> [UInt8] {
        Array(hasher.finalize())
    }
}
