import Foundation
import GRDB

/// The `enrolmentToken` table. Raw columns stay private; typed values come from the accessors.
struct TokenRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "enrolmentToken"

    enum Columns {
        static let secretHash = Column("secretHash")
        static let createdAt = Column("createdAt")
        static let id = Column("id")
    }

    private(set) var id: String
    private var secretHash: Data
    private(set) var usesTotal: Int
    private(set) var usesLeft: Int
    private var expiresAt: Int64?
    private var labels: String
    private var createdAt: Int64

    init(_ token: NewEnrolmentToken, json: JSONColumn) throws {
        id = token.id
        secretHash = Data(token.secretHash)
        usesTotal = token.uses
        usesLeft = token.uses
        expiresAt = token.expiresAt.map(StoredDate.milliseconds)
        labels = try json.encode(token.labels)
        createdAt = StoredDate.milliseconds(token.createdAt)
    }

    func decodedLabels(json: JSONColumn) throws -> [String: String] {
        try json.decode([String: String].self, from: labels, column: "enrolmentToken.labels")
    }

    /// Expired when `now` is at or past the expiry date.
    func isExpired(at now: Date) -> Bool {
        guard let expiresAt else { return false }
        return StoredDate.milliseconds(now) >= expiresAt
    }

    func record(json: JSONColumn) throws -> EnrolmentTokenRecord {
        EnrolmentTokenRecord(
            id: id,
            usesTotal: usesTotal,
            usesLeft: usesLeft,
            expiresAt: expiresAt.map(StoredDate.date),
            labels: try decodedLabels(json: json),
            createdAt: StoredDate.date(createdAt)
        )
    }
}
