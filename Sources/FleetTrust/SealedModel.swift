/// A model file sealed on the device's disk (`Protocol/AT-REST.md`, "Sealed model files"):
///
/// ```
/// offset 0   "TFSM"                         magic
/// offset 4   0x01                           format version
/// offset 5   protection                     0x01 at-rest, 0x02 agent-only
/// offset 6   0x00 0x00                      reserved
/// offset 8   SHA-256 of the plaintext model 32 bytes
/// offset 40  a TFAR sealed file (AtRestCipher) under the device's model key, with the context
///            UTF-8(model name) || 0x00 || SHA-256 || protection byte
/// ```
///
/// The header is readable without the key, so crash recovery can tell which version a file holds; it cannot be
/// changed without failing authentication, since the digest and the protection are in every chunk's key.
public enum SealedModel {
    static let magic: [UInt8] = Array("TFSM".utf8)
    public static let headerSize = 40

    /// What the header of a sealed model says, before anything is decrypted.
    public struct Header: Sendable, Hashable {
        public var protection: ModelProtection
        public var sha256: [UInt8]
    }

    /// Seals `plaintext` (the model file whose SHA-256 is `sha256`) for `model` under the device's model key.
    public static func seal(
        _ plaintext: [UInt8],
        model: String,
        sha256: [UInt8],
        protection: ModelProtection,
        key: [UInt8]
    ) throws(TrustError) -> [UInt8] {
        guard protection.isSealed else { throw .malformed("a plain model is not sealed") }
        guard sha256.count == 32 else { throw .malformed("model digest must be 32 bytes") }
        let cipher = try AtRestCipher(masterSecret: key, context: context(model, sha256, protection))
        return magic + [1, protection.code, 0, 0] + sha256 + (try cipher.seal(plaintext: plaintext))
    }

    /// The header of `bytes` when they are a sealed model, else nil (a plain model file).
    public static func header(of bytes: some Collection<UInt8>) -> Header? {
        let prefix = Array(bytes.prefix(headerSize))
        guard prefix.count == headerSize, Array(prefix[0..<4]) == magic, prefix[4] == 1, prefix[6] == 0,
            prefix[7] == 0, let protection = ModelProtection(code: prefix[5]), protection.isSealed
        else { return nil }
        return Header(protection: protection, sha256: Array(prefix[8..<40]))
    }

    /// Decrypts a sealed model, authenticates every chunk and checks the plaintext's SHA-256 against the header.
    ///
    /// - Throws: ``TrustError/malformed(_:)`` when `bytes` are not a sealed model; ``TrustError/decryptionFailed(_:)``
    ///   when they were sealed for another model, digest or protection, under another key, or were changed.
    public static func open(
        _ bytes: [UInt8],
        model: String,
        key: [UInt8]
    ) throws(TrustError) -> (
        plaintext: [UInt8], header: Header
    ) {
        guard let header = header(of: bytes) else { throw .malformed("\(model) is not a sealed model file") }
        let cipher = try AtRestCipher(masterSecret: key, context: context(model, header.sha256, header.protection))
        let plaintext = try cipher.open(ciphertext: Array(bytes[headerSize...]))
        guard Digest.sha256(plaintext) == header.sha256 else {
            throw .decryptionFailed("\(model): the opened model does not hash to the digest it was sealed under")
        }
        return (plaintext, header)
    }

    /// The SHA-256 of the model a file holds: the header's digest for a sealed model (checked when it is opened),
    /// else the SHA-256 of the bytes. The agent's installer identifies files by it, key or no key.
    public static func modelDigest(of bytes: [UInt8]) -> [UInt8] {
        header(of: bytes)?.sha256 ?? Digest.sha256(bytes)
    }

    static func context(_ model: String, _ sha256: [UInt8], _ protection: ModelProtection) -> [UInt8] {
        AtRestCipher.modelContext(name: model, sha256: sha256) + [protection.code]
    }
}
