/// A drift-statistics problem: shapes that do not match, or an encoded summary that breaks the format.
/// Matches by code; `detail` says what.
public struct ObserveError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Code: Hashable, Sendable {
        case shapeMismatch
        case malformed
        case invalidInput
    }

    private let code: Code
    public let detail: String

    private init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    /// Feature, bin or class counts differ from the reference statistics or from another summary.
    public static func shapeMismatch(_ detail: String) -> Self { Self(.shapeMismatch, detail) }
    /// An encoded summary that is truncated, oversized or otherwise breaks the format.
    public static func malformed(_ detail: String) -> Self { Self(.malformed, detail) }
    /// Inputs that cannot produce statistics (no rows, ragged rows, bins < 1).
    public static func invalidInput(_ detail: String) -> Self { Self(.invalidInput, detail) }

    public var description: String { "ObserveError(\(detail))" }
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }
}
