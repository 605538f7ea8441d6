import GRDB

/// "coordinator-round-refusals": why a device's round update was refused (or declined), shown by
/// `fleetctl round show`. Frozen once shipped: never edit it, add a later migration instead.
enum CoordinatorRoundRefusals {
    static func migrate(_ db: Database) throws {
        try db.execute(sql: #"ALTER TABLE "roundParticipant" ADD COLUMN "reason" TEXT NOT NULL DEFAULT ''"#)
    }
}
