/// A row type of one table, read through ``SQLConnection`` on either backend.
protocol SQLTableRow {
    static var tableName: String { get }
    /// The columns ``init(row:)`` reads, quoted and comma-separated, for `SELECT` and `INSERT`.
    static var columnList: String { get }
    init(row: SQLRow) throws
}

extension SQLTableRow {
    /// The rows matching `clause` (`WHERE ...`, `ORDER BY ...`, with `?` placeholders).
    static func fetchAll(_ connection: any SQLConnection, _ clause: String, _ arguments: [SQLValue]) throws -> [Self] {
        try connection.query("SELECT \(columnList) FROM \"\(tableName)\" " + clause, arguments).map(Self.init(row:))
    }

    static func fetchOne(_ connection: any SQLConnection, _ clause: String, _ arguments: [SQLValue]) throws -> Self? {
        try fetchAll(connection, clause, arguments).first
    }
}
