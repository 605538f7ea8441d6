import GRDB

/// "coordinator-quotas": pay per query (`Protocol/METERING.md`). Frozen once shipped: never edit it.
///
/// - `quotaGrant`: every signed grant and revoke, by sequence (the grant's identity in receipts).
/// - `usageReceipt`: each device's verified usage ledger, one row per receipt in chain order, with the price
///   of the grant it drew on (micro-units per query) and the flags the coordinator raised on it.
enum CoordinatorQuotas {
    static func migrate(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE "quotaGrant" (
                    "sequence" INTEGER PRIMARY KEY AUTOINCREMENT,
                    "deviceID" TEXT NOT NULL,
                    "model" TEXT NOT NULL,
                    "createdAt" INTEGER NOT NULL,
                    "record" BLOB NOT NULL
                );
                CREATE INDEX "quotaGrant_device" ON "quotaGrant"("deviceID", "sequence");

                CREATE TABLE "usageReceipt" (
                    "deviceID" TEXT NOT NULL,
                    "position" INTEGER NOT NULL,
                    "hash" BLOB NOT NULL,
                    "model" TEXT NOT NULL,
                    "grantSequence" INTEGER NOT NULL,
                    "kind" INTEGER NOT NULL,
                    "count" INTEGER NOT NULL,
                    "priceMicros" INTEGER NOT NULL,
                    "currency" TEXT NOT NULL,
                    "windowStart" INTEGER NOT NULL,
                    "windowEnd" INTEGER NOT NULL,
                    "receivedAt" INTEGER NOT NULL,
                    "flags" TEXT NOT NULL,
                    "record" BLOB NOT NULL,
                    PRIMARY KEY ("deviceID", "position")
                );
                CREATE INDEX "usageReceipt_model" ON "usageReceipt"("model", "deviceID");
                """
        )
    }
}
