import Foundation

/// Training updates that reached another coordinator than the round's (README "Several coordinators"): the one that
/// received an update forwards it through the database, and the round's coordinator takes it as it collects.
extension CoordinatorStore {
    /// Keeps `update` (an encoded `trainUpdate` payload) for round `round`'s coordinator, if that round is running.
    /// Returns whether it was kept.
    public func forwardUpdate(round: Int, deviceID: String, update: [UInt8], at: Date) async throws -> Bool {
        try await sqlWrite { connection in
            try connection.execute(
                #"""
                INSERT INTO "forwardedUpdate" ("round", "deviceID", "update", "forwardedAt")
                SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM "round" WHERE "id" = ? AND "status" = 'running')
                """#,
                [
                    SQLValue(round), .text(deviceID), .bytes(update), .integer(StoredDate.milliseconds(at)),
                    SQLValue(round),
                ]
            ) > 0
        }
    }

    /// Takes (reads and deletes, in one transaction) up to `limit` forwarded updates of `round`, oldest first.
    public func takeForwardedUpdates(round: Int, limit: Int) async throws -> [(deviceID: String, update: [UInt8])] {
        try await sqlWrite { connection in
            let rows = try connection.query(
                #"""
                SELECT "id", "deviceID", "update" FROM "forwardedUpdate" WHERE "round" = ? ORDER BY "id" LIMIT ?
                """#,
                [SQLValue(round), .integer(Int64(limit))]
            )
            let ids = try rows.map { try $0.int64("id") }
            for chunk in sqlInListChunks(ids) {
                _ = try connection.execute(
                    #"DELETE FROM "forwardedUpdate" WHERE "id" IN (\#(chunk.placeholders))"#,
                    chunk.values.map { .integer($0) }
                )
            }
            return try rows.map { (try $0.string("deviceID"), try $0.bytes("update")) }
        }
    }

    /// Deletes what is left of a round that ended (updates that came too late to be taken).
    public func discardForwardedUpdates(round: Int) async throws {
        try await sqlWrite { connection in
            _ = try connection.execute(#"DELETE FROM "forwardedUpdate" WHERE "round" = ?"#, [SQLValue(round)])
        }
    }
}
