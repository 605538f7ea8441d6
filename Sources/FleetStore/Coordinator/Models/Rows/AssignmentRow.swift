import Foundation
import GRDB

/// The `modelAssignment` table.
struct AssignmentRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "modelAssignment"

    enum Columns {
        static let deviceID = Column("deviceID")
        static let model = Column("model")
        static let version = Column("version")
    }

    private var deviceID: String
    private var model: String
    private(set) var version: Int?
    private(set) var variant: String?
    private var reason: String
    private var updatedAt: Int64

    init(_ assignment: ModelAssignment) {
        deviceID = assignment.deviceID
        model = assignment.model
        version = assignment.version
        variant = assignment.variant
        reason = assignment.reason
        updatedAt = StoredDate.milliseconds(assignment.updatedAt)
    }

    var record: ModelAssignment {
        ModelAssignment(
            deviceID: deviceID,
            model: model,
            version: version,
            variant: variant,
            reason: reason,
            updatedAt: StoredDate.date(updatedAt)
        )
    }

    static func find(deviceID: String, model: String, in db: Database) throws -> AssignmentRow? {
        try filter(Columns.deviceID == deviceID && Columns.model == model).fetchOne(db)
    }
}
