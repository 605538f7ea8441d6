import GRDB

/// "coordinator-rollout-health": devices' health summaries and the rollouts' health gates (SPEC 5.41, 12.5).
/// Frozen once shipped: never edit it.
///
/// - `healthSummary`: one row per summary received, when (coordinator clock), the window's length and the agent
///   starts it reports.
/// - `healthEntry`: the summary's counts per model version (latency and confidence bins as JSON arrays).
/// - `rolloutGates`: a rollout's health gate policy (JSON).
/// - `rolloutHealth`: the latest assessment of each started wave's health against the control group (JSON).
enum CoordinatorRolloutHealth {
    static func migrate(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE "healthSummary" (
                    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
                    "deviceID" TEXT NOT NULL,
                    "receivedAt" INTEGER NOT NULL,
                    "windowMilliseconds" INTEGER NOT NULL,
                    "starts" INTEGER NOT NULL
                );
                CREATE INDEX "healthSummary_device" ON "healthSummary"("deviceID", "receivedAt");
                CREATE INDEX "healthSummary_received" ON "healthSummary"("receivedAt");

                CREATE TABLE "healthEntry" (
                    "summaryID" INTEGER NOT NULL REFERENCES "healthSummary"("id") ON DELETE CASCADE,
                    "model" TEXT NOT NULL,
                    "version" INTEGER NOT NULL,
                    "queries" INTEGER NOT NULL,
                    "errors" INTEGER NOT NULL,
                    "latency" TEXT NOT NULL,
                    "confidence" TEXT NOT NULL,
                    "labelled" INTEGER NOT NULL,
                    "correct" INTEGER NOT NULL,
                    PRIMARY KEY ("summaryID", "model", "version")
                );
                CREATE INDEX "healthEntry_version" ON "healthEntry"("model", "version");

                CREATE TABLE "rolloutGates" (
                    "rolloutID" INTEGER PRIMARY KEY REFERENCES "rollout"("id") ON DELETE CASCADE,
                    "policy" TEXT NOT NULL
                );

                CREATE TABLE "rolloutHealth" (
                    "rolloutID" INTEGER NOT NULL REFERENCES "rollout"("id") ON DELETE CASCADE,
                    "wave" INTEGER NOT NULL,
                    "assessment" TEXT NOT NULL,
                    "assessedAt" INTEGER NOT NULL,
                    PRIMARY KEY ("rolloutID", "wave")
                );
                """
        )
    }
}
