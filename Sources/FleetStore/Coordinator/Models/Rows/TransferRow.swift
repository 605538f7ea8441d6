import Foundation
import GRDB

/// The `modelTransfer` table.
struct TransferRow: Codable, FetchableRecord, MutablePersistableRecord {
    static let databaseTableName = "modelTransfer"

    enum Columns {
        static let sequence = Column("sequence")
        static let deviceID = Column("deviceID")
        static let model = Column("model")
    }

    private var sequence: Int64?
    private var deviceID: String
    private var model: String
    private var version: Int
    private var variant: String
    private var encoding: String
    private var baseVersion: Int?
    private var wireBytes: Int
    private var fullBytes: Int
    private var fileBytes: Int
    private var startedAt: Int64
    private var completedAt: Int64
    private var resumedFrom: Int

    init(_ transfer: NewTransfer) {
        sequence = nil
        deviceID = transfer.deviceID
        model = transfer.model
        version = transfer.version
        variant = transfer.variant
        encoding = transfer.encoding
        baseVersion = transfer.baseVersion
        wireBytes = transfer.wireBytes
        fullBytes = transfer.fullBytes
        fileBytes = transfer.fileBytes
        startedAt = StoredDate.milliseconds(transfer.startedAt)
        completedAt = StoredDate.milliseconds(transfer.completedAt)
        resumedFrom = transfer.resumedFrom
    }

    mutating func didInsert(_ inserted: InsertionSuccess) {
        sequence = inserted.rowID
    }

    func record() throws -> TransferRecord {
        guard let sequence else {
            throw StoreError.corrupt.with("transfer without a sequence number")
        }
        return TransferRecord(
            sequence: sequence,
            deviceID: deviceID,
            model: model,
            version: version,
            variant: variant,
            encoding: encoding,
            baseVersion: baseVersion,
            wireBytes: wireBytes,
            fullBytes: fullBytes,
            fileBytes: fileBytes,
            startedAt: StoredDate.date(startedAt),
            completedAt: StoredDate.date(completedAt),
            resumedFrom: resumedFrom
        )
    }
}
