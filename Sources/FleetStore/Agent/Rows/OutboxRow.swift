import Foundation
import GRDB

/// The `outbox` table.
struct OutboxRow: Codable, FetchableRecord, MutablePersistableRecord {
    static let databaseTableName = "outbox"

    enum Columns {
        static let sequence = Column("sequence")
        static let kind = Column("kind")
        static let idempotencyKey = Column("idempotencyKey")
    }

    private var sequence: Int64?
    private var kind: String
    private var payload: Data
    private var idempotencyKey: String?
    private var createdAt: Int64

    init(kind: String, payload: [UInt8], idempotencyKey: String?, createdAt: Date) {
        sequence = nil
        self.kind = kind
        self.payload = Data(payload)
        self.idempotencyKey = idempotencyKey
        self.createdAt = StoredDate.milliseconds(createdAt)
    }

    mutating func didInsert(_ inserted: InsertionSuccess) {
        sequence = inserted.rowID
    }

    func item() throws -> OutboxItem {
        guard let sequence else {
            throw StoreError.corrupt.with("outbox item without a sequence number")
        }
        return OutboxItem(
            sequence: sequence,
            kind: kind,
            payload: [UInt8](payload),
            idempotencyKey: idempotencyKey,
            createdAt: StoredDate.date(createdAt)
        )
    }
}
