import Crypto
import Foundation

/// Encrypts model files at rest on the device, in authenticated 64 KiB chunks (format in `Protocol/AT-REST.md`).
///
/// ```
/// header   "TFAR" | 0x01 version | 0x10 (log2 chunk size) | 0x00 0x00 | file nonce (8 random bytes)   16 bytes
/// chunk i  ChaCha20-Poly1305 ciphertext of up to 65536 bytes | 16-byte tag
///          key   = HKDF-SHA256(ikm: master secret, salt: file nonce,
///                              info: "tinyfleet-v1 at-rest\0" + context, 32 bytes)
///          nonce = UInt32 big-endian i | file nonce
///          aad   = header | UInt32 big-endian i | final flag (1 on the last chunk, else 0)
/// ```
/// Every chunk but the last holds exactly 65536 plaintext bytes; the last holds 0...65536 and is the only one with
/// the final flag, so reordering, dropping, duplicating or truncating chunks fails authentication.
public struct AtRestCipher: Sendable {
    static let magic: [UInt8] = Array("TFAR".utf8)
    static let headerSize = 16
    static let chunkSize = 1 << 16
    static let tagSize = 16
    static let sealedChunkSize = chunkSize + tagSize

    private let masterSecret: SymmetricKey
    private let context: [UInt8]

    /// A cipher for one file's context (see ``modelContext(name:sha256:)``) under the device's 32-byte master secret.
    public init(masterSecret: [UInt8], context: [UInt8]) throws(TrustError) {
        guard masterSecret.count == 32 else {
            throw .invalidKey("at-rest master secret must be 32 bytes, got \(masterSecret.count)")
        }
        self.masterSecret = SymmetricKey(data: masterSecret)
        self.context = context
    }

    /// The context of a model file: the model name's UTF-8 bytes, a zero byte, then the blob's SHA-256.
    public static func modelContext(name: String, sha256: [UInt8]) -> [UInt8] {
        Array(name.utf8) + [0] + sha256
    }

    /// Encrypts `plaintext` into the sealed format with a new random file nonce.
    public func seal(plaintext: [UInt8]) throws(TrustError) -> [UInt8] {
        let sealer = chunkSealer(fileNonce: Digest.randomBytes(8))
        var output = sealer.header
        output.reserveCapacity(
            Self.headerSize + plaintext.count + (plaintext.count / Self.chunkSize + 1) * Self.tagSize
        )
        var start = 0
        var index: UInt32 = 0
        repeat {
            let end = min(start + Self.chunkSize, plaintext.count)
            output += try sealer.seal(plaintext[start..<end], index: index, final: end == plaintext.count)
            start = end
            index += 1
        } while start < plaintext.count
        return output
    }

    /// Decrypts and authenticates a whole sealed file.
    ///
    /// - Throws: ``TrustError/malformed(_:)`` for a bad header or a length that cannot be a sealed file,
    ///   ``TrustError/decryptionFailed(_:)`` when any chunk fails authentication (tampered, reordered, truncated,
    ///   wrong key or wrong context).
    public func open(ciphertext: [UInt8]) throws(TrustError) -> [UInt8] {
        let sealer = try chunkSealer(header: Array(ciphertext.prefix(Self.headerSize)))
        var plaintext: [UInt8] = []
        plaintext.reserveCapacity(max(0, ciphertext.count - Self.headerSize))
        var start = Self.headerSize
        var index: UInt32 = 0
        repeat {
            let end = min(start + Self.sealedChunkSize, ciphertext.count)
            let final = end == ciphertext.count
            plaintext += try sealer.open(ciphertext[start..<end], index: index, final: final)
            start = end
            index = try Self.next(index)
        } while start < ciphertext.count
        return plaintext
    }

    func chunkSealer(fileNonce: [UInt8]) -> ChunkSealer {
        var header = Self.magic + [1, 16, 0, 0]
        header += fileNonce
        let info = Array("tinyfleet-v1 at-rest\0".utf8) + context
        let key = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: masterSecret,
            salt: fileNonce,
            info: info,
            outputByteCount: 32
        )
        return ChunkSealer(key: key, header: header, fileNonce: fileNonce)
    }

    /// The sealer for an existing file, after checking its header.
    func chunkSealer(header: [UInt8]) throws(TrustError) -> ChunkSealer {
        guard header.count == Self.headerSize, Array(header.prefix(4)) == Self.magic else {
            throw .malformed("not a TinyFleet sealed file")
        }
        guard header[4] == 1, header[5] == 16, header[6] == 0, header[7] == 0 else {
            throw .malformed("unsupported sealed file version \(header[4]) or chunk size 2^\(header[5])")
        }
        return chunkSealer(fileNonce: Array(header.suffix(8)))
    }

    static func next(_ index: UInt32) throws(TrustError) -> UInt32 {
        guard index < .max else { throw .malformed("more than 2^32 chunks") }
        return index + 1
    }
}

/// Seals and opens the chunks of one file: key, header and nonce fixed, index and final flag per chunk.
struct ChunkSealer {
    let key: SymmetricKey
    let header: [UInt8]
    let fileNonce: [UInt8]

    func seal(_ plaintext: ArraySlice<UInt8>, index: UInt32, final: Bool) throws(TrustError) -> [UInt8] {
        do {
            let box = try ChaChaPoly.seal(
                plaintext,
                using: key,
                nonce: try nonce(index),
                authenticating: aad(index: index, final: final)
            )
            return Array(box.ciphertext) + Array(box.tag)
        } catch {
            throw .decryptionFailed("cannot seal chunk \(index): \(error)")
        }
    }

    func open(_ sealed: ArraySlice<UInt8>, index: UInt32, final: Bool) throws(TrustError) -> [UInt8] {
        guard sealed.count >= AtRestCipher.tagSize else {
            throw .decryptionFailed("chunk \(index) is shorter than its tag")
        }
        do {
            let box = try ChaChaPoly.SealedBox(
                nonce: try nonce(index),
                ciphertext: sealed.dropLast(AtRestCipher.tagSize),
                tag: sealed.suffix(AtRestCipher.tagSize)
            )
            return Array(try ChaChaPoly.open(box, using: key, authenticating: aad(index: index, final: final)))
        } catch {
            throw .decryptionFailed(
                "chunk \(index) failed authentication (tampered, reordered, truncated or wrong key)"
            )
        }
    }

    private func nonce(_ index: UInt32) throws -> ChaChaPoly.Nonce {
        try ChaChaPoly.Nonce(data: Self.bigEndian(index) + fileNonce)
    }

    private func aad(index: UInt32, final: Bool) -> [UInt8] {
        header + Self.bigEndian(index) + [final ? 1 : 0]
    }

    private static func bigEndian(_ value: UInt32) -> [UInt8] {
        [
            UInt8(value >> 24), UInt8(truncatingIfNeeded: value >> 16), UInt8(truncatingIfNeeded: value >> 8),
            UInt8(truncatingIfNeeded: value),
        ]
    }
}
