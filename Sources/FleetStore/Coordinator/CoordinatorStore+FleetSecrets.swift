import Foundation

extension CoordinatorStore {
    /// The fleet's secret `name` as the database holds it (README "Several coordinators"), or nil.
    public func fleetSecret(named name: String) async throws -> [UInt8]? {
        try await sqlRead { connection in
            try connection.queryOne(#"SELECT "value" FROM "fleetSecret" WHERE "name" = ?"#, [.text(name)])?
                .bytes("value")
        }
    }

    /// Stores `value` as the fleet's secret `name` unless the database holds one already; returns the one it
    /// holds afterwards: `value`, or the secret another coordinator stored first.
    public func storeFleetSecretIfAbsent(named name: String, value: [UInt8]) async throws -> [UInt8] {
        try await sqlWrite { connection in
            _ = try connection.execute(
                connection.dialect.insertIgnoringConflicts(
                    into: "fleetSecret",
                    #"("name", "value", "storedAt") VALUES (?, ?, ?)"#
                ),
                [.text(name), .bytes(value), .integer(StoredDate.milliseconds(Date()))]
            )
            guard
                let stored = try connection.queryOne(
                    #"SELECT "value" FROM "fleetSecret" WHERE "name" = ?"#,
                    [.text(name)]
                )
            else { throw StoreError.corrupt.with("the fleet secret \(name) was not stored") }
            return try stored.bytes("value")
        }
    }
}
