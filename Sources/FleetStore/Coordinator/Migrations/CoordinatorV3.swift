import GRDB

/// "coordinator-v3": version pins (an operator holds a device, or every device, on one version of a model).
/// Frozen once shipped: never edit it, add "coordinator-v4" instead. Plain SQL, no application types.
enum CoordinatorV3 {
    static func migrate(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE "modelPin" (
                    "deviceID" TEXT NOT NULL,
                    "model" TEXT NOT NULL,
                    "version" INTEGER NOT NULL CHECK ("version" >= 1),
                    "rollback" INTEGER NOT NULL DEFAULT 0,
                    "pinnedAt" INTEGER NOT NULL,
                    PRIMARY KEY ("deviceID", "model")
                );
                """
        )
    }
}
