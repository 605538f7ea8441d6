/// Why an install, rollback or read of an installed model failed. Matches by code; `detail` says more.
public struct ModelInstallError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Code: Hashable, Sendable {
        case invalidModelName
        case invalidArgument
        case tooLarge
        case hashMismatch
        case notInstalled
        case noPrevious
        case io
    }

    private let code: Code
    public let detail: String

    private init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    /// The model name is not a safe path component (see ``ModelStorageLayout/isValidModelName(_:)``).
    public static func invalidModelName(_ detail: String) -> Self { Self(.invalidModelName, detail) }
    /// A version, variant or digest is malformed.
    public static func invalidArgument(_ detail: String) -> Self { Self(.invalidArgument, detail) }
    /// The model is over the installer's size limit.
    public static func tooLarge(_ detail: String) -> Self { Self(.tooLarge, detail) }
    /// Bytes do not hash to the digest they are installed or recorded under.
    public static func hashMismatch(_ detail: String) -> Self { Self(.hashMismatch, detail) }
    /// No version of the model is installed.
    public static func notInstalled(_ detail: String) -> Self { Self(.notInstalled, detail) }
    /// There is no previous version to roll back to.
    public static func noPrevious(_ detail: String) -> Self { Self(.noPrevious, detail) }
    /// A file system call failed.
    public static func io(_ detail: String) -> Self { Self(.io, detail) }

    public var description: String { "ModelInstallError(\(code): \(detail))" }
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
    /// A local file-system call failed (a full disk, a read-only or failing one): not the payload's fault, and
    /// worth retrying once the cause is gone.
    public var isStorageFailure: Bool { code == .io }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }
}
