import GRDB

/// "coordinator-v6": removed devices. A removed device's key stays revoked: it can neither authenticate (its
/// `device` row is gone) nor enrol again with a new token. Frozen once shipped. Plain SQL, no application types.
enum CoordinatorV6 {
    static func migrate(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE "removedDevice" (
                    "id" TEXT NOT NULL PRIMARY KEY,
                    "publicKey" BLOB NOT NULL,
                    "removedAt" INTEGER NOT NULL,
                    "erased" INTEGER NOT NULL DEFAULT 0
                );
                CREATE UNIQUE INDEX "removedDevice_publicKey" ON "removedDevice"("publicKey");
                """
        )
    }
}
