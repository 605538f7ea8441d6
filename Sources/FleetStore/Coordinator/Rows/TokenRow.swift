import Foundation
import GRDB

/// The `enrolmentToken` table. Raw columns stay private; typed values come from the accessors.
struct TokenRow: Codable, FetchableRecord, PersistableRecord, SQLTableRow {
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

    static var tableName: String { databaseTableName }
    static let columnList = #""id", "secretHash", "usesTotal", "usesLeft", "expiresAt", "labels", "createdAt""#

    init(row: SQLRow) throws {
        id = try row.string("id")
        secretHash = Data(try row.bytes("secretHash"))
        usesTotal = try row.int("usesTotal")
        usesLeft = try row.int("usesLeft")
        expiresAt = try row.optionalInt64("expiresAt")
        labels = try row.string("labels")
        createdAt = try row.int64("createdAt")
    }

    /// Inserts this row.
    func insert(into connection: any SQLConnection) throws {
        try connection.execute(
            #"INSERT INTO "enrolmentToken" (\#(Self.columnList)) VALUES (?, ?, ?, ?, ?, ?, ?)"#,
            [
                .text(id), .bytes([UInt8](secretHash)), SQLValue(usesTotal), SQLValue(usesLeft), SQLValue(expiresAt),
                .text(labels), .integer(createdAt),
            ]
        )
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
