import Foundation
import GRDB

extension AgentStore {
    /// Reads and replaces the value under `key` in one transaction (the daemon and the command line's fallback
    /// may count at once): `transform` gets the current value (nil: none) and returns the new one (nil: remove it)
    /// and a result.
    public func updateValue<T: Sendable>(
        forKey key: String,
        _ transform: @escaping @Sendable ([UInt8]?) throws -> (value: [UInt8]?, result: T)
    ) async throws -> T {
        try await write { db in
            let current = try Data.fetchOne(db, sql: #"SELECT "value" FROM "state" WHERE "key" = ?"#, arguments: [key])
                .map { [UInt8]($0) }
            let (value, result) = try transform(current)
            if let value {
                try db.execute(
                    sql: #"INSERT OR REPLACE INTO "state" ("key", "value") VALUES (?, ?)"#,
                    arguments: [key, Data(value)]
                )
            } else {
                try db.execute(sql: #"DELETE FROM "state" WHERE "key" = ?"#, arguments: [key])
            }
            return result
        }
    }
}
