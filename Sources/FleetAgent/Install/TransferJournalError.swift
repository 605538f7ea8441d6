/// Why the transfer journal refused a request. Matches by code; `detail` says which model or value.
public struct TransferJournalError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Code: Hashable, Sendable {
        case invalidModelName
        case invalidDescriptor
        case tooLarge
        case noTransfer
        case outOfOrder
        case pastEnd
        case incomplete
        case hashMismatch
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
    /// A version, variant, base version or digest in the descriptor is malformed.
    public static func invalidDescriptor(_ detail: String) -> Self { Self(.invalidDescriptor, detail) }
    /// The announced size is over the journal's limit.
    public static func tooLarge(_ detail: String) -> Self { Self(.tooLarge, detail) }
    /// No transfer is in progress for the model.
    public static func noTransfer(_ detail: String) -> Self { Self(.noTransfer, detail) }
    /// A chunk did not start where the durable payload ends.
    public static func outOfOrder(_ detail: String) -> Self { Self(.outOfOrder, detail) }
    /// A chunk would run past the announced size.
    public static func pastEnd(_ detail: String) -> Self { Self(.pastEnd, detail) }
    /// The payload is not complete yet.
    public static func incomplete(_ detail: String) -> Self { Self(.incomplete, detail) }
    /// The received payload's digest is not the announced one; the journal was discarded.
    public static func hashMismatch(_ detail: String) -> Self { Self(.hashMismatch, detail) }
    /// A file system call failed.
    public static func io(_ detail: String) -> Self { Self(.io, detail) }

    public var description: String { "TransferJournalError(\(code): \(detail))" }
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
    /// A local file-system call failed (a full disk, a read-only or failing one): not the payload's fault, and
    /// worth retrying once the cause is gone.
    public var isStorageFailure: Bool { code == .io }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }
}
