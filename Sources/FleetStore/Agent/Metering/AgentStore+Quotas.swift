import FleetTrust
import Foundation
import GRDB

/// What the ledger holds for one model when a query is metered: the stored grants (to be verified by the
/// caller), the queries already drawn on each grant, and the chain's head.
public struct MeteringSnapshot: Sendable {
    /// Stored grant records of the model, in sequence order (not verified here).
    public var grants: [[UInt8]]
    /// Queries drawn per grant sequence, within the grant (kinds 0 and 2) and in offline grace (kind 1).
    public var drawn: [UInt64: UInt64]
    public var graceDrawn: [UInt64: UInt64]
    /// The last receipt's position and hash; nil before the first receipt.
    public var head: (position: UInt64, hash: [UInt8])?
}

extension AgentStore {
    /// Keeps grant records received from the coordinator (already verified); a sequence already held is kept.
    public func storeQuotaGrants(_ grants: [(sequence: UInt64, model: String, record: [UInt8])]) async throws {
        try await write { db in
            for grant in grants {
                try db.execute(
                    sql: #"INSERT OR IGNORE INTO "quotaGrant" ("sequence", "model", "record") VALUES (?, ?, ?)"#,
                    arguments: [Int64(clamping: grant.sequence), grant.model, Data(grant.record)]
                )
            }
        }
    }

    /// The highest grant sequence held (0 without grants).
    public func lastQuotaGrantSequence() async throws -> UInt64 {
        try await read { db in
            UInt64(clamping: try Int64.fetchOne(db, sql: #"SELECT MAX("sequence") FROM "quotaGrant""#) ?? 0)
        }
    }

    /// Every stored grant record, in sequence order.
    public func quotaGrantRecords() async throws -> [[UInt8]] {
        try await read { db in
            try Data.fetchAll(db, sql: #"SELECT "record" FROM "quotaGrant" ORDER BY "sequence""#).map { Array($0) }
        }
    }

    /// Meters a request in one transaction: `decide` sees the model's grants, what was drawn on them and the
    /// chain head, and returns the signed receipts to append (none to refuse). Requests are thus counted
    /// one after another, whichever process (daemon or `infer --local`) serves them.
    public func meter<T: Sendable>(
        model: String,
        _ decide: @escaping @Sendable (MeteringSnapshot) throws -> (receipts: [SignedUsageReceipt], result: T)
    ) async throws -> T {
        try await write { db in
            let grants = try Data.fetchAll(
                db,
                sql: #"SELECT "record" FROM "quotaGrant" WHERE "model" = ? ORDER BY "sequence""#,
                arguments: [model]
            ).map { Array($0) }
            var drawn: [UInt64: UInt64] = [:]
            var grace: [UInt64: UInt64] = [:]
            for row in try Row.fetchAll(
                db,
                sql: #"""
                    SELECT "grantSequence", "kind", SUM("count") AS "total" FROM "usageReceipt" WHERE "model" = ?
                    GROUP BY "grantSequence", "kind"
                    """#,
                arguments: [model]
            ) {
                let sequence = UInt64(clamping: row["grantSequence"] as Int64)
                let total = UInt64(clamping: row["total"] as Int64)
                // Offloaded queries (kind 2) draw on the grant like local ones; grace (kind 1) apart.
                if (row["kind"] as Int64) == 1 {
                    grace[sequence, default: 0] += total
                } else {
                    drawn[sequence, default: 0] += total
                }
            }
            let head = try Row.fetchOne(
                db,
                sql: #"SELECT "position", "hash" FROM "usageReceipt" ORDER BY "position" DESC LIMIT 1"#
            ).map { (position: UInt64(clamping: $0["position"] as Int64), hash: Array($0["hash"] as Data)) }
            let decision = try decide(MeteringSnapshot(grants: grants, drawn: drawn, graceDrawn: grace, head: head))
            for signed in decision.receipts {
                let receipt = signed.receipt
                try db.execute(
                    sql: #"""
                        INSERT INTO "usageReceipt" ("position", "model", "grantSequence", "kind", "count", "hash",
                            "record")
                        VALUES (?, ?, ?, ?, ?, ?, ?)
                        """#,
                    arguments: [
                        Int64(clamping: receipt.index), receipt.model, Int64(clamping: receipt.grant),
                        Int64(receipt.kind.rawValue), Int64(clamping: receipt.count), Data(try signed.hash()),
                        Data(try signed.encoded()),
                    ]
                )
            }
            return decision.result
        }
    }

    /// Receipts not acknowledged by the coordinator yet, oldest first: (position, signed encoding).
    public func unsyncedUsageReceipts(limit: Int) async throws -> [(position: UInt64, record: [UInt8])] {
        try await read { db in
            try Row.fetchAll(
                db,
                sql: #"""
                    SELECT "position", "record" FROM "usageReceipt" WHERE "syncedAt" IS NULL
                    ORDER BY "position" LIMIT ?
                    """#,
                arguments: [limit]
            ).map { (UInt64(clamping: $0["position"] as Int64), Array($0["record"] as Data)) }
        }
    }

    /// Marks receipts up to `position` as acknowledged by the coordinator.
    public func markUsageSynced(upTo position: UInt64, at instant: Date) async throws {
        try await write { db in
            try db.execute(
                sql: #"UPDATE "usageReceipt" SET "syncedAt" = ? WHERE "position" <= ? AND "syncedAt" IS NULL"#,
                arguments: [StoredDate.milliseconds(instant), Int64(clamping: position)]
            )
        }
    }

    /// Ledger size: receipts and their encoded bytes (for `fleet-bench` and status).
    public func usageLedgerSize() async throws -> (receipts: Int, bytes: Int) {
        try await read { db in
            let row = try Row.fetchOne(
                db,
                sql: #"SELECT COUNT(*) AS "n", COALESCE(SUM(LENGTH("record")), 0) AS "b" FROM "usageReceipt""#
            )
            return (row?["n"] ?? 0, row?["b"] ?? 0)
        }
    }
}
