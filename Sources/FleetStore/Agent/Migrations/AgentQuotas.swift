import GRDB

/// "agent-quotas": pay per query on the device (`Protocol/METERING.md`). Frozen once shipped: never edit it.
///
/// - `quotaGrant`: the signed grants received from the coordinator (verified again each time they are used).
/// - `usageReceipt`: the device's usage ledger, one signed receipt per row in chain order; `syncedAt` is set when
///   the coordinator acknowledged it.
enum AgentQuotas {
    static func migrate(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE "quotaGrant" (
                    "sequence" INTEGER PRIMARY KEY,
                    "model" TEXT NOT NULL,
                    "record" BLOB NOT NULL
                );

                CREATE TABLE "usageReceipt" (
                    "position" INTEGER PRIMARY KEY,
                    "model" TEXT NOT NULL,
                    "grantSequence" INTEGER NOT NULL,
                    "kind" INTEGER NOT NULL,
                    "count" INTEGER NOT NULL,
                    "hash" BLOB NOT NULL,
                    "record" BLOB NOT NULL,
                    "syncedAt" INTEGER
                );
                CREATE INDEX "usageReceipt_model" ON "usageReceipt"("model", "grantSequence");
                """
        )
    }
}
