import Foundation

/// Leases on work that one coordinator at a time must do (README "Several coordinators"): a coordinator holds the
/// lease `name` until `expiresAt` unless it renews it; once it has expired (its coordinator stopped or died),
/// another may take it.
extension CoordinatorStore {
    /// Takes or renews the lease `name` for `owner` until `until`: granted when nobody holds it, when `owner` does,
    /// or when its holder's claim ended before `now`. Returns whether `owner` holds it afterwards. Two
    /// coordinators asking at once: one gets it (the upsert re-checks its condition on the row it locks).
    public func acquireLease(_ name: String, owner: String, until: Date, now: Date) async throws -> Bool {
        try await sqlWrite { connection in
            _ = try connection.execute(
                #"""
                INSERT INTO "lease" ("name", "owner", "expiresAt") VALUES (?, ?, ?)
                ON CONFLICT ("name") DO UPDATE SET "owner" = excluded."owner", "expiresAt" = excluded."expiresAt"
                WHERE "lease"."owner" = excluded."owner" OR "lease"."expiresAt" < ?
                """#,
                [
                    .text(name), .text(owner), .integer(StoredDate.milliseconds(until)),
                    .integer(StoredDate.milliseconds(now)),
                ]
            )
            let holder = try connection.queryOne(#"SELECT "owner" FROM "lease" WHERE "name" = ?"#, [.text(name)])
            return try holder?.string("owner") == owner
        }
    }

    /// Gives the lease up, if `owner` holds it.
    public func releaseLease(_ name: String, owner: String) async throws {
        try await sqlWrite { connection in
            _ = try connection.execute(
                #"DELETE FROM "lease" WHERE "name" = ? AND "owner" = ?"#,
                [.text(name), .text(owner)]
            )
        }
    }

    /// Who holds the lease `name` at `now`, or nil when nobody does (never taken, given up, or expired).
    public func leaseHolder(_ name: String, now: Date) async throws -> String? {
        try await sqlRead { connection in
            try connection.queryOne(
                #"SELECT "owner" FROM "lease" WHERE "name" = ? AND "expiresAt" >= ?"#,
                [.text(name), .integer(StoredDate.milliseconds(now))]
            )?.string("owner")
        }
    }
}
