/// How many devices a model assigns to one version and variant; both nil for the devices no variant fits.
public struct AssignmentCount: Sendable, Equatable {
    public var version: Int?
    public var variant: String?
    public var devices: Int

    public init(version: Int?, variant: String?, devices: Int) {
        self.version = version
        self.variant = variant
        self.devices = devices
    }
}

extension CoordinatorStore {
    /// The model's assignments counted by version and variant in one grouped query (the console's model page),
    /// instead of reading every assignment.
    public func assignmentCounts(model: String) async throws -> [AssignmentCount] {
        try await sqlRead { connection in
            // The devices no variant fits (NULL version) first, on both backends.
            try connection.query(
                #"""
                SELECT "version", "variant", COUNT(*) AS "devices" FROM "modelAssignment" WHERE "model" = ?
                GROUP BY "version", "variant" ORDER BY "version" IS NOT NULL, "version", "variant"
                """#,
                [.text(model)]
            ).map { row in
                AssignmentCount(
                    version: try row.optionalInt64("version").map { Int($0) },
                    variant: try row.optionalString("variant"),
                    devices: try row.int("devices")
                )
            }
        }
    }

    /// The model's assignments that name no version (no variant fits the device), by device id: only those rows
    /// are read (the console's fleet page lists them).
    public func unfitAssignments(model: String) async throws -> [ModelAssignment] {
        try await sqlRead { connection in
            try AssignmentRow.fetchAll(
                connection,
                #"WHERE "model" = ? AND "version" IS NULL ORDER BY "deviceID""#,
                [.text(model)]
            ).map(\.record)
        }
    }
}
