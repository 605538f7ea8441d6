import Foundation
import GRDB

/// The `apiToken` table. Raw columns stay private; typed values come from ``record``.
struct APITokenRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "apiToken"

    enum Columns {
        static let id = Column("id")
        static let secretHash = Column("secretHash")
        static let createdAt = Column("createdAt")
    }

    private var id: String
    private var secretHash: Data
    private var scope: String
    private var createdAt: Int64
    private var expiresAt: Int64?
    private var revokedAt: Int64?

    init(_ token: NewAPIToken) {
        id = token.id
        secretHash = Data(token.secretHash)
        scope = token.scope
        createdAt = StoredDate.milliseconds(token.createdAt)
        expiresAt = token.expiresAt.map(StoredDate.milliseconds)
        revokedAt = nil
    }

    var record: APITokenRecord {
        APITokenRecord(
            id: id,
            scope: scope,
            createdAt: StoredDate.date(createdAt),
            expiresAt: expiresAt.map(StoredDate.date),
            revokedAt: revokedAt.map(StoredDate.date)
        )
    }
}
