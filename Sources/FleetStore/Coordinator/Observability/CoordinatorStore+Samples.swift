import Foundation
import GRDB

extension CoordinatorStore {
    /// What ``insertSampleBatch(_:maximumRowsPerDevice:grantInForce:)`` did.
    public enum SampleAdmission: Sendable, Equatable {
        /// Stored under the consent record with this sequence.
        case stored(consentSequence: UInt64)
        /// A batch with this key was stored before (a resend after a reconnect); nothing changed.
        case alreadyStored
        /// The device's consent records, as they are inside the inserting transaction, grant no samples.
        case noConsent
        /// Storing it would pass the per-device cap; `held` rows are stored.
        case overCap(held: Int)
    }

    /// Stores a batch once per device and idempotency key, if the device's consent records, read inside the same
    /// transaction as the insert, grant it: `grantInForce` gets them and returns the sequence of the grant in
    /// force (nil: none). A revocation committed before this transaction refuses the batch; one committed after
    /// it erases the batch. `batch.consentSequence` is replaced by the sequence `grantInForce` returns.
    public func insertSampleBatch(
        _ batch: SampleBatchRecord,
        maximumRowsPerDevice: Int,
        grantInForce: @escaping @Sendable (_ records: [StoredConsentRecord]) -> UInt64?
    ) async throws -> SampleAdmission {
        try await write { db in
            if try Self.hasSampleBatch(deviceID: batch.deviceID, idempotencyKey: batch.idempotencyKey, in: db) {
                return .alreadyStored
            }
            let records = try Row.fetchAll(
                db,
                sql: #"SELECT * FROM "consentRecord" WHERE "deviceID" = ? ORDER BY "sequence""#,
                arguments: [batch.deviceID]
            ).map(Self.consentRecord)
            guard let sequence = grantInForce(records) else { return .noConsent }
            let held = try Self.sampleRowCount(deviceID: batch.deviceID, in: db)
            guard held + batch.rowCount <= maximumRowsPerDevice else { return .overCap(held: held) }
            var admitted = batch
            admitted.consentSequence = sequence
            try Self.insert(admitted, in: db)
            return .stored(consentSequence: sequence)
        }
    }

    private static func insert(_ batch: SampleBatchRecord, in db: Database) throws {
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
    }

    /// Whether a batch with this key is already stored for the device.
    public func hasSampleBatch(deviceID: String, idempotencyKey: String) async throws -> Bool {
        try await read { db in try Self.hasSampleBatch(deviceID: deviceID, idempotencyKey: idempotencyKey, in: db) }
    }

    static func hasSampleBatch(deviceID: String, idempotencyKey: String, in db: Database) throws -> Bool {
        try Bool.fetchOne(
            db,
            sql: #"SELECT 1 FROM "sampleBatch" WHERE "deviceID" = ? AND "idempotencyKey" = ?"#,
            arguments: [deviceID, idempotencyKey]
        ) ?? false
    }

    /// Sample rows held for a device (all models).
    public func sampleRowCount(deviceID: String) async throws -> Int {
        try await read { db in try Self.sampleRowCount(deviceID: deviceID, in: db) }
    }

    static func sampleRowCount(deviceID: String, in db: Database) throws -> Int {
        try Int.fetchOne(
            db,
            sql: #"SELECT COALESCE(SUM("rowCount"), 0) FROM "sampleBatch" WHERE "deviceID" = ?"#,
            arguments: [deviceID]
        ) ?? 0
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
