import FleetTrust
import Foundation
import GRDB

extension CoordinatorStore {
    /// Stores a new grant (or revoke) under the next sequence number: `sign` receives the sequence and returns
    /// the signed grant, stored in the same transaction, so sequences are never reused or skipped.
    public func addQuotaGrant(
        deviceID: String,
        model: String,
        at instant: Date,
        sign: @escaping @Sendable (UInt64) throws -> SignedQuotaGrant
    ) async throws -> SignedQuotaGrant {
        try await write { db in
            try db.execute(
                sql: #"INSERT INTO "quotaGrant" ("deviceID", "model", "createdAt", "record") VALUES (?, ?, ?, x'')"#,
                arguments: [deviceID, model, StoredDate.milliseconds(instant)]
            )
            let sequence = db.lastInsertedRowID
            let signed = try sign(UInt64(sequence))
            try db.execute(
                sql: #"UPDATE "quotaGrant" SET "record" = ? WHERE "sequence" = ?"#,
                arguments: [Data(try signed.encoded()), sequence]
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
        try await read { db in
            let rows: [Data]
            if let deviceID {
                rows = try Data.fetchAll(
                    db,
                    sql: #"""
                        SELECT "record" FROM "quotaGrant" WHERE "deviceID" = ? AND "sequence" > ?
                        ORDER BY "sequence" LIMIT ?
                        """#,
                    arguments: [deviceID, Int64(clamping: afterSequence), limit]
                )
            } else {
                rows = try Data.fetchAll(db, sql: #"SELECT "record" FROM "quotaGrant" ORDER BY "sequence""#)
            }
            return try rows.map { try SignedQuotaGrant(decoding: Array($0)) }
        }
    }

    /// One grant by sequence, whatever device it names.
    public func quotaGrant(sequence: UInt64) async throws -> SignedQuotaGrant? {
        try await read { db in
            try Data.fetchOne(
                db,
                sql: #"SELECT "record" FROM "quotaGrant" WHERE "sequence" = ?"#,
                arguments: [Int64(clamping: sequence)]
            ).map { try SignedQuotaGrant(decoding: Array($0)) }
        }
    }
}
