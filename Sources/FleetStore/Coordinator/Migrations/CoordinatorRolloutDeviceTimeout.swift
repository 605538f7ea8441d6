import GRDB

/// "coordinator-rollout-device-timeout": a rollout's per-device timeout (README "Staged rollouts", SPEC 12.5).
/// Frozen once shipped: never edit it.
///
/// - `rollout.deviceTimeoutMilliseconds`: how long after its wave started a device may stay `pending` before it is
///   marked `timed-out`; NULL for none, which is what every rollout recorded before this migration keeps.
/// - `rolloutDevice.outcome` may now also read `timed-out` (a text column: no schema change).
enum CoordinatorRolloutDeviceTimeout {
    static func migrate(_ db: Database) throws {
        try db.execute(sql: #"ALTER TABLE "rollout" ADD COLUMN "deviceTimeoutMilliseconds" INTEGER"#)
    }
}
