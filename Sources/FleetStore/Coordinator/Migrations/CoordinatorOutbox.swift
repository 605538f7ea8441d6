import GRDB

/// "coordinator-outbox": messages for a device connected to another coordinator of the fleet (README "Several
/// coordinators"). Frozen once shipped: never edit it.
///
/// - `outbox`: one row per message: the device, the whole encoded frame, when it was queued (milliseconds since
///   1970). The coordinator holding the device's connection sends it and deletes the row; rows nobody delivers
///   expire.
enum CoordinatorOutbox {
    static func migrate(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE "outbox" (
                    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
                    "deviceID" TEXT NOT NULL,
                    "frame" BLOB NOT NULL,
                    "queuedAt" INTEGER NOT NULL
                )
                """
        )
    }
}
