import Foundation

extension CoordinatorStore {
    /// Stores a new HTTP admin API token and appends an `api_token_created` event. Throws `duplicate` if its id or
    /// secret hash already exists.
    public func createAPIToken(_ token: NewAPIToken) async throws -> APITokenRecord {
        try await sqlWrite { connection in
            let row = APITokenRow(token)
            do {
                try row.insert(into: connection)
            } catch let error as StoreError where error == .duplicate {
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
                in: connection
            )
            return row.record
        }
    }

    /// Revokes an API token (it stays listed, as revoked) and appends an `api_token_revoked` event. Returns false
    /// when no token has this id.
    public func revokeAPIToken(id: String, at now: Date) async throws -> Bool {
        try await sqlWrite { connection in
            let changed = try connection.execute(
                #"UPDATE "apiToken" SET "revokedAt" = COALESCE("revokedAt", ?) WHERE "id" = ?"#,
                [.integer(StoredDate.milliseconds(now)), .text(id)]
            )
            guard changed > 0 else { return false }
            _ = try EventRow.append(
                NewEvent(at: now, deviceID: nil, kind: "api_token_revoked", detail: id),
                in: connection
            )
            return true
        }
    }

    /// All API tokens, oldest first (revoked and expired ones too).
    public func apiTokens() async throws -> [APITokenRecord] {
        try await sqlRead { connection in
            try APITokenRow.fetchAll(connection, #"ORDER BY "createdAt", "id""#, []).map(\.record)
        }
    }

    /// The token whose secret hashes to `secretHash`, whatever its state (the caller checks ``APITokenRecord/isUsable(at:)``).
    public func apiToken(secretHash: [UInt8]) async throws -> APITokenRecord? {
        try await sqlRead { connection in
            try APITokenRow.fetchOne(connection, #"WHERE "secretHash" = ?"#, [.bytes(secretHash)])?.record
        }
    }
}
