/// An error thrown by ``CoordinatorStore`` and ``AgentStore``.
///
/// Every public store method throws only `StoreError`. Match on the code with `==` against the
/// static values (`error == .tokenExhausted`); equality compares codes only, and ``message``
/// carries the details (the path, the SQLite message, the offending id).
///
/// This is a struct over a private code enum, so new codes can be added without breaking callers.
public struct StoreError: Error, CustomStringConvertible, Equatable, Sendable {
    private enum Code: String, Sendable {
        case notFound
        case tokenUnknown
        case tokenExhausted
        case tokenExpired
        case deviceKeyInUse
        case duplicate
        case corrupt
        case io
        case readOnly
        case busy
        case incompatibleSchema
        case invalidArgument
        case versionNotIncreasing
        case insecureFile
        case targetNotEmpty
        case verificationFailed
    }

    private let code: Code

    /// Human-readable details. Not part of equality.
    public let message: String

    private init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// A database file, device, or other addressed item does not exist.
    public static let notFound = StoreError(.notFound, "not found")
    /// No enrolment token has this secret hash.
    public static let tokenUnknown = StoreError(.tokenUnknown, "unknown enrolment token")
    /// The enrolment token has no uses left.
    public static let tokenExhausted = StoreError(.tokenExhausted, "enrolment token has no uses left")
    /// The enrolment token's expiry date has passed.
    public static let tokenExpired = StoreError(.tokenExpired, "enrolment token has expired")
    /// A device with this public key is already enrolled.
    public static let deviceKeyInUse = StoreError(.deviceKeyInUse, "device public key already enrolled")
    /// A row with the same identity (id, hash) already exists.
    public static let duplicate = StoreError(.duplicate, "duplicate")
    /// The database holds data this code cannot read (malformed file, invalid JSON column, bad value).
    public static let corrupt = StoreError(.corrupt, "corrupt database")
    /// Opening, reading or writing the database failed (disk, permissions, SQLite failure).
    public static let io = StoreError(.io, "database I/O error")
    /// A write was attempted on a store opened read-only.
    public static let readOnly = StoreError(.readOnly, "database is read-only")
    /// The database stayed locked by another connection past the busy timeout.
    public static let busy = StoreError(.busy, "database is busy")
    /// The database schema is missing migrations this code needs.
    public static let incompatibleSchema = StoreError(.incompatibleSchema, "incompatible database schema")
    /// An argument was out of range (for example an enrolment token with fewer than one use).
    public static let invalidArgument = StoreError(.invalidArgument, "invalid argument")
    /// A model version was pushed below the model's highest version: a model's versions only go up.
    public static let versionNotIncreasing = StoreError(.versionNotIncreasing, "model version is not increasing")

    /// A database file that group or others may read, or that is a symbolic link: refused, with the fix.
    public static let insecureFile = StoreError(.insecureFile, "database file is not private")

    /// A copy of the coordinator's state was asked into a database that already holds rows (another fleet).
    public static let targetNotEmpty = StoreError(.targetNotEmpty, "the target database is not empty")
    /// A copy's row counts or hashes differ between the source and the target.
    public static let verificationFailed = StoreError(.verificationFailed, "the copy does not match its source")

    /// The same error code with a more specific message.
    package func with(_ message: String) -> StoreError {
        StoreError(code, message)
    }

    /// No database file at `path`.
    static func notFound(_ path: String) -> StoreError {
        notFound.with("database file not found: \(path)")
    }

    public var description: String {
        "StoreError.\(code.rawValue): \(message)"
    }

    public static func == (lhs: StoreError, rhs: StoreError) -> Bool {
        lhs.code == rhs.code
    }
}
