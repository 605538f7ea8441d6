import Foundation
import GRDB

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
    /// and alerts, consent records, assignments, pins, transfers, round participation and its events; the WAL is
    /// then checkpointed and truncated, so that no copy stays there (deleted rows are zeroed: `secure_delete`).
    /// Returns nil when no device has this id.
    public func removeDevice(id: String, erase: Bool, at: Date) async throws -> DeviceRemoval? {
        let removal = try await write { db -> DeviceRemoval? in
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: #"SELECT "name", "publicKey" FROM "device" WHERE "id" = ?"#,
                    arguments: [id]
                )
            else { return nil }
            var removal = DeviceRemoval(deviceID: id, name: row["name"], erased: erase)
            try db.execute(
                sql:
                    #"INSERT OR REPLACE INTO "removedDevice" ("id", "publicKey", "removedAt", "erased") VALUES (?, ?, ?, ?)"#,
                arguments: [id, row["publicKey"] as Data, StoredDate.milliseconds(at), erase]
            )
            try db.execute(sql: #"DELETE FROM "device" WHERE "id" = ?"#, arguments: [id])
            if erase {
                removal.sampleRows = try Self.eraseSamples(deviceID: id, in: db)
                removal.driftReports = try Self.delete(from: "driftReport", deviceID: id, in: db)
                removal.consentRecords = try Self.delete(from: "consentRecord", deviceID: id, in: db)
                for table in [
                    "modelAssignment", "modelPin", "modelTransfer", "roundParticipant", "quotaGrant", "usageReceipt",
                    "rolloutDevice", "event",
                ] {
                    removal.otherRows += try Self.delete(from: table, deviceID: id, in: db)
                }
                try db.execute(sql: #"DELETE FROM "driftAlert" WHERE "scope" = ?"#, arguments: ["device:\(id)"])
                removal.otherRows += db.changesCount
            }
            let detail =
                erase
                ? "removed by the administrator and erased: \(removal.sampleRows) sample(s), "
                    + "\(removal.driftReports) drift report(s), \(removal.consentRecords) consent record(s), "
                    + "\(removal.otherRows) other row(s)"
                : "removed by the administrator (its key is revoked; what it sent is kept)"
            _ = try EventRow.append(NewEvent(at: at, deviceID: id, kind: "device_removed", detail: detail), in: db)
            return removal
        }
        if removal?.erased == true { try await truncateWAL() }
        return removal
    }

    /// Whether a device with this id was removed.
    public func isRemoved(deviceID: String) async throws -> Bool {
        try await read { db in
            try Bool.fetchOne(db, sql: #"SELECT 1 FROM "removedDevice" WHERE "id" = ?"#, arguments: [deviceID])
                ?? false
        }
    }

    static func isRemoved(publicKey: [UInt8], in connection: any SQLConnection) throws -> Bool {
        try connection.queryOne(#"SELECT 1 FROM "removedDevice" WHERE "publicKey" = ?"#, [.bytes(publicKey)]) != nil
    }

    private static func delete(from table: String, deviceID: String, in db: Database) throws -> Int {
        try db.execute(sql: "DELETE FROM \"\(table)\" WHERE \"deviceID\" = ?", arguments: [deviceID])
        return db.changesCount
    }
}
