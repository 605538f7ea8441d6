/// Why a ``ConsentLedger`` refused a record. Matches by code; ``message`` is for people.
public struct ConsentError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Code: Hashable, Sendable {
        case forged
        case wrongDevice
        case outOfOrder
        case fromTheFuture
        case expired
        case invalid
    }

    private let code: Code
    public let message: String

    private init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The signature does not verify with the device's key, or the record is malformed.
    public static func forged(_ message: String = "signature does not verify") -> Self { Self(.forged, message) }
    /// The record, or the key it was checked with, belongs to another device than the ledger's.
    public static func wrongDevice(_ message: String = "record for another device") -> Self {
        Self(.wrongDevice, message)
    }
    /// A sequence number not above the last applied one (replayed or reordered), or a grant dated before the
    /// latest applied record.
    public static func outOfOrder(_ message: String = "record out of order") -> Self { Self(.outOfOrder, message) }
    /// `issuedAt` is later than now plus the allowed clock skew.
    public static func fromTheFuture(_ message: String = "record issued in the future") -> Self {
        Self(.fromTheFuture, message)
    }
    /// A grant whose `until` has already passed.
    public static func expired(_ message: String = "grant already expired") -> Self { Self(.expired, message) }
    /// A record that cannot mean anything, such as a grant whose `until` is not after its `issuedAt`.
    public static func invalid(_ message: String = "record is not meaningful") -> Self { Self(.invalid, message) }

    public var description: String { "ConsentError(\(message))" }
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }
}
