import Foundation

/// What ``CoordinatorStore/removeDevice(id:erase:at:)`` did.
public struct DeviceRemoval: Sendable, Equatable {
    public var deviceID: String
    public var name: String
    public var erased: Bool
    public var sampleRows = 0
    public var driftReports = 0
    public var consentRecords = 0
    /// Assignments, pins, transfers, round participation, drift alerts and events erased.
    public var otherRows = 0
}

extension CoordinatorStore {
    /// Removes a device in one transaction: its key is kept in `removedDevice` (so it can neither authenticate nor
    /// enrol again), its `device` row is deleted (it leaves the device list), and a `device_removed` event is
    /// appended. With `erase`, everything else the coordinator holds of it is deleted too: samples, drift reports
    /// and alerts, consent records, assignments, pins, transfers, round participation and its events; on SQLite the
    /// WAL is then checkpointed and truncated, so that no copy stays there (deleted rows are zeroed:
    /// `secure_delete`). Returns nil when no device has this id.
    public func removeDevice(id: String, erase: Bool, at: Date) async throws -> DeviceRemoval? {
        let removal = try await sqlWrite { connection -> DeviceRemoval? in
            let key = SQLValue.text(id)
            guard
                let row = try connection.queryOne(
                    #"SELECT "name", "publicKey" FROM "device" WHERE "id" = ?"#,
                    [key]
                )
            else { return nil }
            var removal = DeviceRemoval(deviceID: id, name: try row.string("name"), erased: erase)
            try connection.execute(
                connection.dialect.upsert(
                    into: "removedDevice",
                    columns: ["id", "publicKey", "removedAt", "erased"],
                    key: ["id"]
                ),
                [
                    key, .bytes(try row.bytes("publicKey")), .integer(StoredDate.milliseconds(at)),
                    .integer(erase ? 1 : 0),
                ]
            )
            try connection.execute(#"DELETE FROM "device" WHERE "id" = ?"#, [key])
            if erase {
                removal.sampleRows = try Self.eraseSamples(deviceID: id, in: connection)
                removal.driftReports = try Self.delete(from: "driftReport", deviceID: id, in: connection)
                removal.consentRecords = try Self.delete(from: "consentRecord", deviceID: id, in: connection)
                for table in [
                    "modelAssignment", "modelPin", "modelTransfer", "roundParticipant", "quotaGrant", "usageReceipt",
                    "rolloutDevice", "event",
                ] {
                    removal.otherRows += try Self.delete(from: table, deviceID: id, in: connection)
                }
                removal.otherRows += try connection.execute(
                    #"DELETE FROM "driftAlert" WHERE "scope" = ?"#,
                    [.text("device:\(id)")]
                )
            }
            let detail =
                erase
                ? "removed by the administrator and erased: \(removal.sampleRows) sample(s), "
                    + "\(removal.driftReports) drift report(s), \(removal.consentRecords) consent record(s), "
                    + "\(removal.otherRows) other row(s)"
                : "removed by the administrator (its key is revoked; what it sent is kept)"
            _ = try EventRow.append(
                NewEvent(at: at, deviceID: id, kind: "device_removed", detail: detail),
                in: connection
            )
            return removal
        }
        if removal?.erased == true, executor.dialect == .sqlite { try await truncateWAL() }
        return removal
    }

    /// Whether a device with this id was removed.
    public func isRemoved(deviceID: String) async throws -> Bool {
        try await sqlRead { connection in
            try connection.queryOne(#"SELECT 1 AS "removed" FROM "removedDevice" WHERE "id" = ?"#, [.text(deviceID)])
                != nil
        }
    }

    static func isRemoved(publicKey: [UInt8], in connection: any SQLConnection) throws -> Bool {
        try connection.queryOne(#"SELECT 1 FROM "removedDevice" WHERE "publicKey" = ?"#, [.bytes(publicKey)]) != nil
    }

    private static func delete(from table: String, deviceID: String, in connection: any SQLConnection) throws -> Int {
        try connection.execute("DELETE FROM \"\(table)\" WHERE \"deviceID\" = ?", [.text(deviceID)])
    }
}
