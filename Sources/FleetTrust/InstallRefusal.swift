/// Why an agent refuses a release manifest or its blob. Matches by code; ``message`` is for people.
public struct InstallRefusal: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Code: Hashable, Sendable {
        case badSignature
        case hashMismatch
        case rollback(installed: Int, offered: Int)
        case wrongModel
        case wrongDevice
        case invalidRollback
        case staleDirective
    }

    private let code: Code
    /// A human explanation naming the values involved.
    public let message: String

    /// A stable kebab-case name for reports and event logs, e.g. `bad-signature`, `rollback`.
    public var name: String {
        switch code {
        case .badSignature: "bad-signature"
        case .hashMismatch: "hash-mismatch"
        case .rollback: "rollback"
        case .wrongModel: "wrong-model"
        case .wrongDevice: "wrong-device"
        case .invalidRollback: "invalid-rollback"
        case .staleDirective: "stale-directive"
        }
    }

    private init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The manifest is not signed by the pinned release key (or is malformed).
    public static func badSignature(_ message: String = "the manifest is not signed by the pinned release key") -> Self
    {
        Self(.badSignature, message)
    }

    /// The downloaded blob's SHA-256 (or size) differs from the manifest's.
    public static func hashMismatch(_ message: String = "the blob does not match the manifest's SHA-256") -> Self {
        Self(.hashMismatch, message)
    }

    /// A `.release` manifest offers a version lower than the installed one.
    public static func rollback(installed: Int, offered: Int) -> Self {
        Self(
            .rollback(installed: installed, offered: offered),
            "version \(offered) is lower than installed version \(installed); a rollback needs a signed rollback directive"
        )
    }

    /// The manifest is for another model than the one this agent runs.
    public static func wrongModel(_ message: String = "the manifest names another model") -> Self {
        Self(.wrongModel, message)
    }

    /// The manifest targets another device.
    public static func wrongDevice(_ message: String = "the manifest targets another device") -> Self {
        Self(.wrongDevice, message)
    }

    /// A rollback directive that does not go to a lower version than the installed one (or nothing is installed).
    public static func invalidRollback(_ message: String = "a rollback directive must name a lower version") -> Self {
        Self(.invalidRollback, message)
    }

    /// A rollback directive issued before the installed manifest: a replayed, superseded directive.
    public static func staleDirective(
        _ message: String = "the rollback directive predates the installed release"
    )
        -> Self
    {
        Self(.staleDirective, message)
    }

    public var description: String { "InstallRefusal(\(message))" }
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }
}
