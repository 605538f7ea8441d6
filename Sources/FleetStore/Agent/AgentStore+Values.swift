import Foundation
import GRDB

extension AgentStore {
    /// The value stored under `key`, or nil.
    public func value(forKey key: String) async throws -> [UInt8]? {
        try await read { db in
            try Data.fetchOne(db, sql: #"SELECT "value" FROM "state" WHERE "key" = ?"#, arguments: [key])
                .map { [UInt8]($0) }
        }
    }

    /// Stores `value` under `key`, replacing any previous value.
    public func setValue(_ value: [UInt8], forKey key: String) async throws {
        try await setValues([key: value])
    }

    /// Stores every value in one transaction: all of them or none.
    public func setValues(_ values: [String: [UInt8]]) async throws {
        guard !values.isEmpty else { return }
        try await write { db in
            let statement = try db.cachedStatement(
                sql: #"INSERT OR REPLACE INTO "state" ("key", "value") VALUES (?, ?)"#
            )
            for (key, value) in values {
                try statement.execute(arguments: [key, Data(value)])
            }
        }
    }

    /// Removes the value under `key`, if any.
    public func removeValue(forKey key: String) async throws {
        try await write { db in
            try db.execute(sql: #"DELETE FROM "state" WHERE "key" = ?"#, arguments: [key])
        }
    }

    /// Every stored key, sorted.
    public func keys() async throws -> [String] {
        try await read { db in
            try String.fetchAll(db, sql: #"SELECT "key" FROM "state" ORDER BY "key""#)
        }
    }
}
