import Foundation
import GRDB

/// The `deltaCache` table, keyed by (fromSHA256, toSHA256).
struct DeltaCacheRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "deltaCache"

    enum Columns {
        static let fromSHA256 = Column("fromSHA256")
        static let toSHA256 = Column("toSHA256")
        static let createdAt = Column("createdAt")
        static let path = Column("path")
    }

    private var fromSHA256: Data
    private var toSHA256: Data
    private var encoding: String
    private var path: String
    private var size: Int
    private var payloadSHA256: Data
    private var createdAt: Int64

    init(_ record: DeltaCacheRecord) {
        fromSHA256 = Data(record.fromSHA256)
        toSHA256 = Data(record.toSHA256)
        encoding = record.encoding
        path = record.path
        size = record.size
        payloadSHA256 = Data(record.payloadSHA256)
        createdAt = StoredDate.milliseconds(record.createdAt)
    }

    var record: DeltaCacheRecord {
        DeltaCacheRecord(
            fromSHA256: [UInt8](fromSHA256),
            toSHA256: [UInt8](toSHA256),
            encoding: encoding,
            path: path,
            size: size,
            payloadSHA256: [UInt8](payloadSHA256),
            createdAt: StoredDate.date(createdAt)
        )
    }
}
