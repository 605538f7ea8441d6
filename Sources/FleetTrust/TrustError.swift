/// A key or signature problem. Matches by code; `detail` says which key or field.
public struct TrustError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Code: Hashable, Sendable {
        case invalidKey
        case badSignature
        case decryptionFailed
        case malformed
        case insecureFile
        case fileAccess
    }

    private let code: Code
    public let detail: String

    private init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    /// Key bytes of the wrong size or form.
    public static func invalidKey(_ detail: String) -> Self { Self(.invalidKey, detail) }
    /// A signature did not verify.
    public static func badSignature(_ detail: String) -> Self { Self(.badSignature, detail) }
    /// Ciphertext failed authentication (tampered or wrong key).
    public static func decryptionFailed(_ detail: String) -> Self { Self(.decryptionFailed, detail) }
    /// Encoded bytes (manifest, consent record, sealed file header) that break the format or its limits.
    public static func malformed(_ detail: String) -> Self { Self(.malformed, detail) }
    /// A secret file that is not a regular file of mode 0600 (group or world may read it, or it is a link).
    public static func insecureFile(_ detail: String) -> Self { Self(.insecureFile, detail) }
    /// A secret or sealed file that could not be created, read or written.
    public static func fileAccess(_ detail: String) -> Self { Self(.fileAccess, detail) }

    public var description: String { "TrustError(\(detail))" }
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }
}
