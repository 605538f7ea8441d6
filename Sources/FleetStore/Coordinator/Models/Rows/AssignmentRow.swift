/// The `modelAssignment` table, on either backend.
struct AssignmentRow: SQLTableRow {
    static let tableName = "modelAssignment"
    static let columnList = #""deviceID", "model", "version", "variant", "reason", "updatedAt""#

    let record: ModelAssignment

    init(row: SQLRow) throws {
        record = ModelAssignment(
            deviceID: try row.string("deviceID"),
            model: try row.string("model"),
            version: try row.optionalInt64("version").map { Int($0) },
            variant: try row.optionalString("variant"),
            reason: try row.string("reason"),
            updatedAt: StoredDate.date(try row.int64("updatedAt"))
        )
    }

    static func find(deviceID: String, model: String, in connection: any SQLConnection) throws -> AssignmentRow? {
        try fetchOne(connection, #"WHERE "deviceID" = ? AND "model" = ?"#, [.text(deviceID), .text(model)])
    }

    /// Stores `assignment`, replacing the one of the same device and model.
    static func replace(_ assignment: ModelAssignment, in connection: any SQLConnection) throws {
        try connection.execute(
            connection.dialect.upsert(
                into: tableName,
                columns: ["deviceID", "model", "version", "variant", "reason", "updatedAt"],
                key: ["deviceID", "model"]
            ),
            [
                .text(assignment.deviceID), .text(assignment.model), SQLValue(assignment.version.map(Int64.init)),
                SQLValue(assignment.variant), .text(assignment.reason),
                .integer(StoredDate.milliseconds(assignment.updatedAt)),
            ]
        )
    }
}
