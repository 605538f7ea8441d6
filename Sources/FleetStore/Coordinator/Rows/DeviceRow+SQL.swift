/// The `device` table through ``SQLConnection``, on either backend.
extension DeviceRow: SQLTableRow {
    static var tableName: String { databaseTableName }

    static let columnList =
        #""id", "name", "publicKey", "labels", "capabilities", "agentVersion", "installedModels", "status", "#
        + #""lastSeen", "enrolledAt", "tokenID""#
}
