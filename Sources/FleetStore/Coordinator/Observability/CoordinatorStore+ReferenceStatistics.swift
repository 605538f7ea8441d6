import Foundation

/// Model versions' reference packages (`Protocol/OBSERVABILITY.md`), on either backend.
extension CoordinatorStore {
    /// Stores (or replaces) a model version's reference package.
    public func setReferenceStatistics(model: String, version: Int, statistics: [UInt8], at: Date) async throws {
        try await sqlWrite { connection in
            try Self.storeReferenceStatistics(
                model: model,
                version: version,
                statistics: statistics,
                at: at,
                in: connection
            )
        }
    }

    /// Stores a version's reference package, replacing an earlier one.
    static func storeReferenceStatistics(
        model: String,
        version: Int,
        statistics: [UInt8],
        at: Date,
        in connection: any SQLConnection
    ) throws {
        try connection.execute(
            connection.dialect.upsert(
                into: "referenceStatistics",
                columns: ["model", "version", "statistics", "createdAt"],
                key: ["model", "version"]
            ),
            [.text(model), SQLValue(version), .bytes(statistics), .integer(StoredDate.milliseconds(at))]
        )
    }

    public func referenceStatistics(model: String, version: Int) async throws -> [UInt8]? {
        try await sqlRead { connection in
            try connection.queryOne(
                #"SELECT "statistics" FROM "referenceStatistics" WHERE "model" = ? AND "version" = ?"#,
                [.text(model), SQLValue(version)]
            ).map { try $0.bytes("statistics") }
        }
    }

    /// The newest version of `model` that has reference statistics, with them.
    public func latestReferenceStatistics(model: String) async throws -> (version: Int, statistics: [UInt8])? {
        try await sqlRead { connection in
            try connection.queryOne(
                #"""
                SELECT "version", "statistics" FROM "referenceStatistics" WHERE "model" = ?
                ORDER BY "version" DESC LIMIT 1
                """#,
                [.text(model)]
            ).map { (try $0.int("version"), try $0.bytes("statistics")) }
        }
    }
}
