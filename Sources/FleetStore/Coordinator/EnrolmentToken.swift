import Foundation

/// An enrolment token to create. Only the SHA-256 hash of its secret is stored, computed by the caller.
public struct NewEnrolmentToken: Sendable {
    public var id: String
    /// SHA-256 of the token secret. The secret itself never reaches the store.
    public var secretHash: [UInt8]
    /// How many devices may enrol with this token; at least 1.
    public var uses: Int
    /// Enrolment at or after this date fails with `tokenExpired`; nil never expires.
    public var expiresAt: Date?
    /// Labels every device enrolled with this token gets, under its own labels.
    public var labels: [String: String]
    public var createdAt: Date

    public init(
        id: String,
        secretHash: [UInt8],
        uses: Int,
        expiresAt: Date?,
        labels: [String: String],
        createdAt: Date
    ) {
        self.id = id
        self.secretHash = secretHash
        self.uses = uses
        self.expiresAt = expiresAt
        self.labels = labels
        self.createdAt = createdAt
    }
}

/// A stored enrolment token. The secret hash is deliberately not exposed.
public struct EnrolmentTokenRecord: Sendable, Equatable, Codable {
    public var id: String
    public var usesTotal: Int
    public var usesLeft: Int
    public var expiresAt: Date?
    public var labels: [String: String]
    public var createdAt: Date

    public init(
        id: String,
        usesTotal: Int,
        usesLeft: Int,
        expiresAt: Date?,
        labels: [String: String],
        createdAt: Date
    ) {
        self.id = id
        self.usesTotal = usesTotal
        self.usesLeft = usesLeft
        self.expiresAt = expiresAt
        self.labels = labels
        self.createdAt = createdAt
    }
}
