import GRDB

/// "coordinator-model-report-receipts": the model reports already recorded, by device and the device's own
/// report id, so a report sent again after a lost `ack` is not recorded twice.
/// Frozen once shipped: never edit it, add a later migration instead. Plain SQL, no application types.
enum CoordinatorModelReportReceipts {
    static func migrate(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE "modelReportReceipt" (
                    "deviceID" TEXT NOT NULL,
                    "reportID" INTEGER NOT NULL,
                    "receivedAt" INTEGER NOT NULL,
                    PRIMARY KEY ("deviceID", "reportID")
                ) WITHOUT ROWID;
                """
        )
    }
}
