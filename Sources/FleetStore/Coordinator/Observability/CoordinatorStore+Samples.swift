import Foundation
import GRDB

extension CoordinatorStore {
    /// Stores a batch once per device and idempotency key. Returns false, storing nothing, when the key was
    /// already stored (a batch resent after a reconnect).
    @discardableResult
    public func insertSampleBatch(_ batch: SampleBatchRecord) async throws -> Bool {
        try await write { db in
            try db.execute(
                sql: """
                    INSERT OR IGNORE INTO "sampleBatch"
                    ("deviceID", "idempotencyKey", "model", "rowCount", "compressedCSV", "consentSequence", "receivedAt")
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    batch.deviceID, batch.idempotencyKey, batch.model, batch.rowCount, Data(batch.compressedCSV),
                    Int64(bitPattern: batch.consentSequence), StoredDate.milliseconds(batch.receivedAt),
                ]
            )
            return db.changesCount > 0
        }
    }

    /// Whether a batch with this key is already stored for the device.
    public func hasSampleBatch(deviceID: String, idempotencyKey: String) async throws -> Bool {
        try await read { db in
            try Bool.fetchOne(
                db,
                sql: #"SELECT 1 FROM "sampleBatch" WHERE "deviceID" = ? AND "idempotencyKey" = ?"#,
                arguments: [deviceID, idempotencyKey]
            ) ?? false
        }
    }

    /// Sample rows held for a device (all models).
    public func sampleRowCount(deviceID: String) async throws -> Int {
        try await read { db in
            try Int.fetchOne(
                db,
                sql: #"SELECT COALESCE(SUM("rowCount"), 0) FROM "sampleBatch" WHERE "deviceID" = ?"#,
                arguments: [deviceID]
            ) ?? 0
        }
    }

    /// What is held, per device and model.
    public func sampleHoldings() async throws -> [SampleHolding] {
        try await read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT "deviceID", "model", COUNT(*) AS "batches", SUM("rowCount") AS "rows",
                           GROUP_CONCAT(DISTINCT "consentSequence") AS "sequences", MAX("receivedAt") AS "last"
                    FROM "sampleBatch" GROUP BY "deviceID", "model" ORDER BY "deviceID", "model"
                    """
            ).map { row in
                let sequences = (row["sequences"] as String?) ?? ""
                return SampleHolding(
                    deviceID: row["deviceID"],
                    model: row["model"],
                    batches: row["batches"],
                    rows: row["rows"],
                    consentSequences: sequences.split(separator: ",").compactMap { UInt64($0) }.sorted(),
                    lastReceivedAt: StoredDate.date(row["last"])
                )
            }
        }
    }

    /// Every batch of a model, oldest first (for export).
    public func sampleBatches(model: String) async throws -> [SampleBatchRecord] {
        try await read { db in
            try Row.fetchAll(
                db,
                sql: #"SELECT * FROM "sampleBatch" WHERE "model" = ? ORDER BY "receivedAt", "deviceID""#,
                arguments: [model]
            ).map { row in
                SampleBatchRecord(
                    deviceID: row["deviceID"],
                    idempotencyKey: row["idempotencyKey"],
                    model: row["model"],
                    rowCount: row["rowCount"],
                    compressedCSV: [UInt8](row["compressedCSV"] as Data),
                    consentSequence: UInt64(bitPattern: row["consentSequence"] as Int64),
                    receivedAt: StoredDate.date(row["receivedAt"])
                )
            }
        }
    }

    /// Deletes every sample batch of a device; returns how many sample rows they held.
    static func eraseSamples(deviceID: String, in db: Database) throws -> Int {
        let rows =
            try Int.fetchOne(
                db,
                sql: #"SELECT COALESCE(SUM("rowCount"), 0) FROM "sampleBatch" WHERE "deviceID" = ?"#,
                arguments: [deviceID]
            ) ?? 0
        try db.execute(sql: #"DELETE FROM "sampleBatch" WHERE "deviceID" = ?"#, arguments: [deviceID])
        return rows
    }
}
