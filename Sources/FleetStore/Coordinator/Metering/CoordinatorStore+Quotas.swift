import FleetTrust
import Foundation

extension CoordinatorStore {
    /// Stores a new grant (or revoke) under the next sequence number: `sign` receives the sequence and returns
    /// the signed grant, stored in the same transaction, so sequences are never reused or skipped. On PostgreSQL a
    /// transaction that fails after taking a number leaves a gap (an identity is never handed out twice); the
    /// sequence still names one grant only.
    public func addQuotaGrant(
        deviceID: String,
        model: String,
        at instant: Date,
        sign: @escaping @Sendable (UInt64) throws -> SignedQuotaGrant
    ) async throws -> SignedQuotaGrant {
        try await sqlWrite { connection in
            let inserted = try connection.queryOne(
                #"""
                INSERT INTO "quotaGrant" ("deviceID", "model", "createdAt", "record") VALUES (?, ?, ?, ?)
                RETURNING "sequence"
                """#,
                [.text(deviceID), .text(model), .integer(StoredDate.milliseconds(instant)), .bytes([])]
            )
            guard let sequence = try inserted?.int64("sequence") else {
                throw StoreError.corrupt.with("inserting a quota grant returned no sequence")
            }
            let signed = try sign(UInt64(sequence))
            try connection.execute(
                #"UPDATE "quotaGrant" SET "record" = ? WHERE "sequence" = ?"#,
                [.bytes(try signed.encoded()), .integer(sequence)]
            )
            return signed
        }
    }

    /// Grants (and revokes) in sequence order: of one device above `afterSequence` (at most `limit`), or all.
    public func quotaGrants(
        deviceID: String? = nil,
        afterSequence: UInt64 = 0,
        limit: Int = .max
    ) async throws
        -> [SignedQuotaGrant]
    {
        try await sqlRead { connection in
            let rows: [SQLRow]
            if let deviceID {
                rows = try connection.query(
                    #"""
                    SELECT "record" FROM "quotaGrant" WHERE "deviceID" = ? AND "sequence" > ?
                    ORDER BY "sequence" LIMIT ?
                    """#,
                    [.text(deviceID), .integer(Int64(clamping: afterSequence)), .integer(Int64(clamping: limit))]
                )
            } else {
                rows = try connection.query(#"SELECT "record" FROM "quotaGrant" ORDER BY "sequence""#, [])
            }
            return try rows.map { try SignedQuotaGrant(decoding: try $0.bytes("record")) }
        }
    }

    /// One grant by sequence, whatever device it names.
    public func quotaGrant(sequence: UInt64) async throws -> SignedQuotaGrant? {
        try await sqlRead { connection in
            try connection.queryOne(
                #"SELECT "record" FROM "quotaGrant" WHERE "sequence" = ?"#,
                [.integer(Int64(clamping: sequence))]
            ).map { try SignedQuotaGrant(decoding: try $0.bytes("record")) }
        }
    }
}
