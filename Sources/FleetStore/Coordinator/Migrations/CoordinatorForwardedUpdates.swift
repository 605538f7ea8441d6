import GRDB

/// "coordinator-forwarded-updates": training updates a device sent to another coordinator of the fleet than the
/// one running the round (README "Several coordinators"). Frozen once shipped: never edit it.
///
/// - `forwardedUpdate`: one row per update: the round, the device, the encoded `trainUpdate` payload, when it was
///   forwarded (milliseconds since 1970). The round's coordinator takes the rows of its round as it collects.
enum CoordinatorForwardedUpdates {
    static func migrate(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE "forwardedUpdate" (
                    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
                    "round" INTEGER NOT NULL,
                    "deviceID" TEXT NOT NULL,
                    "update" BLOB NOT NULL,
                    "forwardedAt" INTEGER NOT NULL
                )
                """
        )
    }
}
