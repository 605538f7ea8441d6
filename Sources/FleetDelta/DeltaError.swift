/// An error thrown while encoding or applying a delta, or while inflating a bounded zlib stream.
///
/// The set of codes can grow without breaking callers: compare against the static members
/// (`error == .wrongBase`) rather than switching over a closed enum. Two errors are equal when their
/// codes are equal; ``detail`` is diagnostic text only.
public struct DeltaError: Error, CustomStringConvertible, Equatable, Sendable {
    private enum Code: String, Sendable {
        case truncated = "truncated"
        case badMagic = "bad magic"
        case unsupportedVersion = "unsupported version"
        case wrongBase = "wrong base"
        case outputTooLarge = "output too large"
        case corrupt = "corrupt"
        case checksumMismatch = "checksum mismatch"
        case compressionFailed = "compression failed"
    }

    private let code: Code
    /// Human-readable context (which field, which tensor); not part of equality.
    public let detail: String

    private init(_ code: Code, _ detail: String = "") {
        self.code = code
        self.detail = detail
    }

    /// The patch ends before a field it declares.
    public static let truncated = DeltaError(.truncated)
    /// The patch does not start with the `TFD` magic.
    public static let badMagic = DeltaError(.badMagic)
    /// The patch uses a format version or mode this decoder does not know.
    public static let unsupportedVersion = DeltaError(.unsupportedVersion)
    /// The base file's CRC-32 differs from the one recorded in the patch.
    public static let wrongBase = DeltaError(.wrongBase)
    /// The output (or an inflated stream) would exceed the configured limit.
    public static let outputTooLarge = DeltaError(.outputTooLarge)
    /// The patch is structurally invalid.
    public static let corrupt = DeltaError(.corrupt)
    /// The reconstructed output does not match the CRC-32 recorded in the patch.
    public static let checksumMismatch = DeltaError(.checksumMismatch)
    /// zlib refused to compress (out of memory or an internal error).
    public static let compressionFailed = DeltaError(.compressionFailed)

    /// Returns the same error carrying `detail` as context.
    func with(_ detail: String) -> DeltaError { DeltaError(code, detail) }

    public var description: String {
        detail.isEmpty ? "DeltaError(\(code.rawValue))" : "DeltaError(\(code.rawValue): \(detail))"
    }

    public static func == (lhs: DeltaError, rhs: DeltaError) -> Bool { lhs.code == rhs.code }
}
