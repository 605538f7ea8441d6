import Foundation

/// The `apiToken` table. Raw columns stay private; typed values come from ``record``.
struct APITokenRow: SQLTableRow {
    static let tableName = "apiToken"
    static let columnList = #""id", "secretHash", "scope", "createdAt", "expiresAt", "revokedAt""#

    private var id: String
    private var secretHash: [UInt8]
    private var scope: String
    private var createdAt: Int64
    private var expiresAt: Int64?
    private var revokedAt: Int64?

    init(_ token: NewAPIToken) {
        id = token.id
        secretHash = token.secretHash
        scope = token.scope
        createdAt = StoredDate.milliseconds(token.createdAt)
        expiresAt = token.expiresAt.map(StoredDate.milliseconds)
        revokedAt = nil
    }

    init(row: SQLRow) throws {
        id = try row.string("id")
        secretHash = try row.bytes("secretHash")
        scope = try row.string("scope")
        createdAt = try row.int64("createdAt")
        expiresAt = try row.optionalInt64("expiresAt")
        revokedAt = try row.optionalInt64("revokedAt")
    }

    /// Inserts this row.
    func insert(into connection: any SQLConnection) throws {
        try connection.execute(
            #"INSERT INTO "apiToken" (\#(Self.columnList)) VALUES (?, ?, ?, ?, ?, ?)"#,
            [
                .text(id), .bytes(secretHash), .text(scope), .integer(createdAt), SQLValue(expiresAt),
                SQLValue(revokedAt),
            ]
        )
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
