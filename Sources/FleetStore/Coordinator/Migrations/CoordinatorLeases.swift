import GRDB

/// "coordinator-leases": who owns work that one coordinator at a time must do (README "Several coordinators").
/// Frozen once shipped: never edit it.
///
/// - `lease`: one row per kind of work (`rounds`): the owning coordinator's instance id and when its claim ends
///   unless renewed (milliseconds since 1970).
enum CoordinatorLeases {
    static func migrate(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE "lease" (
                    "name" TEXT NOT NULL PRIMARY KEY,
                    "owner" TEXT NOT NULL,
                    "expiresAt" INTEGER NOT NULL
                )
                """
        )
    }
}
