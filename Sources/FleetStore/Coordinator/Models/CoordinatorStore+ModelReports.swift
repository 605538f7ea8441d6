import Foundation
import GRDB

extension CoordinatorStore {
    /// Records a device's model report: the install's delivery row (if any) and its event, in one transaction,
    /// once per (device, `reportID`). Returns false, recording nothing, for a report recorded before (sent again
    /// after its `ack` was lost). A `reportID` of 0 is never de-duplicated.
    public func recordModelReport(
        deviceID: String,
        reportID: UInt64,
        transfer: NewTransfer?,
        event: NewEvent,
        at: Date
    ) async throws -> Bool {
        if let transfer { try ModelValidation.transfer(transfer) }
        return try await write { db in
            if reportID != 0 {
                try db.execute(
                    sql: """
                        INSERT OR IGNORE INTO "modelReportReceipt" ("deviceID", "reportID", "receivedAt")
                        VALUES (?, ?, ?)
                        """,
                    arguments: [deviceID, Int64(bitPattern: reportID), StoredDate.milliseconds(at)]
                )
                guard db.changesCount > 0 else { return false }
            }
            if let transfer {
                var row = TransferRow(transfer)
                try row.insert(db)
            }
            _ = try EventRow.append(event, in: db)
            return true
        }
    }
}
