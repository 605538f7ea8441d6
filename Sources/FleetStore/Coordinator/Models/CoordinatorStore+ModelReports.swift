import Foundation

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
        return try await sqlWrite { connection in
            if reportID != 0 {
                let inserted = try connection.execute(
                    connection.dialect.insertIgnoringConflicts(
                        into: "modelReportReceipt",
                        #"("deviceID", "reportID", "receivedAt") VALUES (?, ?, ?)"#
                    ),
                    [.text(deviceID), .integer(Int64(bitPattern: reportID)), .integer(StoredDate.milliseconds(at))]
                )
                guard inserted > 0 else { return false }
            }
            if let transfer { _ = try TransferRow.insert(transfer, in: connection) }
            _ = try EventRow.append(event, in: connection)
            return true
        }
    }
}
