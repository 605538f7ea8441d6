import GRDB

/// "coordinator-rollouts": staged rollouts (README "Staged rollouts"). Frozen once shipped: never edit it.
///
/// - `rollout`: one row per rollout, with its policy, the recorded membership seed and its state.
/// - `rolloutWave`: each wave's cumulative percentage, when it started and settled, its decision and why.
/// - `rolloutDevice`: which wave each eligible device belongs to (a device once per rollout), and what became of
///   the version on it (`pending`, `installed`, `failed`).
/// - `modelHold`: versions pushed with `--no-assign`, assigned to no device outside a started wave.
enum CoordinatorRollouts {
    static func migrate(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE "rollout" (
                    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
                    "model" TEXT NOT NULL,
                    "version" INTEGER NOT NULL,
                    "variant" TEXT NOT NULL,
                    "previousVersion" INTEGER NOT NULL,
                    "selector" TEXT NOT NULL,
                    "soakMilliseconds" INTEGER NOT NULL,
                    "minimumDevicesPerWave" INTEGER NOT NULL,
                    "maximumInstallFailurePercent" REAL NOT NULL,
                    "autoRollback" BOOLEAN NOT NULL,
                    "seed" INTEGER NOT NULL,
                    "state" TEXT NOT NULL,
                    "wave" INTEGER NOT NULL,
                    "reason" TEXT NOT NULL,
                    "createdAt" INTEGER NOT NULL,
                    "updatedAt" INTEGER NOT NULL
                );
                CREATE INDEX "rollout_model" ON "rollout"("model", "state");

                CREATE TABLE "rolloutWave" (
                    "rolloutID" INTEGER NOT NULL REFERENCES "rollout"("id"),
                    "wave" INTEGER NOT NULL,
                    "percent" INTEGER NOT NULL,
                    "startedAt" INTEGER,
                    "settledAt" INTEGER,
                    "decision" TEXT NOT NULL,
                    "reason" TEXT NOT NULL,
                    PRIMARY KEY ("rolloutID", "wave")
                );

                CREATE TABLE "rolloutDevice" (
                    "rolloutID" INTEGER NOT NULL REFERENCES "rollout"("id"),
                    "deviceID" TEXT NOT NULL,
                    "wave" INTEGER NOT NULL,
                    "outcome" TEXT NOT NULL,
                    PRIMARY KEY ("rolloutID", "deviceID")
                );
                CREATE INDEX "rolloutDevice_device" ON "rolloutDevice"("deviceID");

                CREATE TABLE "modelHold" (
                    "model" TEXT NOT NULL,
                    "version" INTEGER NOT NULL,
                    "heldAt" INTEGER NOT NULL,
                    PRIMARY KEY ("model", "version")
                );
                """
        )
    }
}
