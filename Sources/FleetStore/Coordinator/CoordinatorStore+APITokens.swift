import Foundation
import GRDB

extension CoordinatorStore {
    /// Stores a new HTTP admin API token and appends an `api_token_created` event. Throws `duplicate` if its id or
    /// secret hash already exists.
    public func createAPIToken(_ token: NewAPIToken) async throws -> APITokenRecord {
        try await write { db in
            let row = APITokenRow(token)
            do {
                try row.insert(db)
            } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
                throw StoreError.duplicate.with("API token \(token.id) or its secret already exists")
            }
            let expiry = token.expiresAt.map { " until \(StoredDate.milliseconds($0)) ms" } ?? ""
            _ = try EventRow.append(
                NewEvent(
                    at: token.createdAt,
                    deviceID: nil,
                    kind: "api_token_created",
                    detail: "\(token.id), scope \(token.scope)\(expiry)"
                ),
                in: db
            )
            return row.record
        }
    }

    /// Revokes an API token (it stays listed, as revoked) and appends an `api_token_revoked` event. Returns false
    /// when no token has this id.
    public func revokeAPIToken(id: String, at now: Date) async throws -> Bool {
        try await write { db in
            guard try APITokenRow.filter(APITokenRow.Columns.id == id).fetchCount(db) > 0 else { return false }
            try db.execute(
                sql: #"UPDATE "apiToken" SET "revokedAt" = COALESCE("revokedAt", ?) WHERE "id" = ?"#,
                arguments: [StoredDate.milliseconds(now), id]
            )
            _ = try EventRow.append(NewEvent(at: now, deviceID: nil, kind: "api_token_revoked", detail: id), in: db)
            return true
        }
    }

    /// All API tokens, oldest first (revoked and expired ones too).
    public func apiTokens() async throws -> [APITokenRecord] {
        try await read { db in
            try APITokenRow.order(APITokenRow.Columns.createdAt, APITokenRow.Columns.id).fetchAll(db).map(\.record)
        }
    }

    /// The token whose secret hashes to `secretHash`, whatever its state (the caller checks ``APITokenRecord/isUsable(at:)``).
    public func apiToken(secretHash: [UInt8]) async throws -> APITokenRecord? {
        try await read { db in
            try APITokenRow.filter(APITokenRow.Columns.secretHash == Data(secretHash)).fetchOne(db)?.record
        }
    }
}
