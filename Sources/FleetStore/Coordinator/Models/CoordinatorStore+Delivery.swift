extension CoordinatorStore {
    /// Appends a completed delivery to the log and returns it with its sequence number. Throws
    /// `invalidArgument` for an encoding other than "delta" or "full", or a negative byte count or offset.
    @discardableResult
    public func recordTransfer(_ transfer: NewTransfer) async throws -> TransferRecord {
        try ModelValidation.transfer(transfer)
        return try await sqlWrite { connection in try TransferRow.insert(transfer, in: connection) }
    }

    /// Deliveries, oldest first; nil filters match everything.
    public func transfers(deviceID: String?, model: String?) async throws -> [TransferRecord] {
        try await transfers(deviceID: deviceID, model: model, afterSequence: nil, limit: nil)
    }

    /// Deliveries, oldest first, for paging through a long log: those with a sequence number above
    /// `afterSequence`, at most `limit` of them (the oldest). Nil filters and limit match everything.
    public func transfers(
        deviceID: String?,
        model: String?,
        afterSequence: Int64?,
        limit: Int?
    ) async throws -> [TransferRecord] {
        if let limit, limit <= 0 { return [] }
        return try await sqlRead { connection in
            var conditions: [String] = []
            var arguments: [SQLValue] = []
            if let deviceID {
                conditions.append(#""deviceID" = ?"#)
                arguments.append(.text(deviceID))
            }
            if let model {
                conditions.append(#""model" = ?"#)
                arguments.append(.text(model))
            }
            if let afterSequence {
                conditions.append(#""sequence" > ?"#)
                arguments.append(.integer(afterSequence))
            }
            var clause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            clause += #" ORDER BY "sequence""#
            if let limit {
                clause += " LIMIT ?"
                arguments.append(SQLValue(limit))
            }
            return try TransferRow.fetchAll(connection, clause, arguments).map(\.transfer)
        }
    }

    /// The cached delta from one weights file to another, or nil.
    public func cachedDelta(fromSHA256: [UInt8], toSHA256: [UInt8]) async throws -> DeltaCacheRecord? {
        try await sqlRead { connection in
            try DeltaCacheRow.fetchOne(
                connection,
                #"WHERE "fromSHA256" = ? AND "toSHA256" = ?"#,
                [.bytes(fromSHA256), .bytes(toSHA256)]
            )?.record
        }
    }

    /// Stores the index entry of a delta, replacing any entry for the same (from, to) pair. Throws
    /// `invalidArgument` for a digest that is not 32 bytes, an empty encoding or path, or a negative size.
    public func storeCachedDelta(_ record: DeltaCacheRecord) async throws {
        try ModelValidation.delta(record)
        try await sqlWrite { connection in try DeltaCacheRow.replace(record, in: connection) }
    }

    /// Every cached payload's index entry, oldest first (for keeping the cache within its byte budget).
    public func cachedDeltas() async throws -> [DeltaCacheRecord] {
        try await sqlRead { connection in
            try DeltaCacheRow.fetchAll(connection, #"ORDER BY "createdAt", "path""#, []).map(\.record)
        }
    }

    /// Removes one cached payload's index entry; returns whether there was one.
    @discardableResult
    public func removeCachedDelta(fromSHA256: [UInt8], toSHA256: [UInt8]) async throws -> Bool {
        try await sqlWrite { connection in
            try connection.execute(
                #"DELETE FROM "deltaCache" WHERE "fromSHA256" = ? AND "toSHA256" = ?"#,
                [.bytes(fromSHA256), .bytes(toSHA256)]
            ) > 0
        }
    }

    /// Removes the index entries of every delta from or to the weights file with this SHA-256 (for
    /// example after pruning that blob), and returns them so the caller can delete their files.
    public func removeCachedDeltas(involvingSHA256 sha256: [UInt8]) async throws -> [DeltaCacheRecord] {
        try await sqlWrite { connection in
            let involving = #"WHERE "fromSHA256" = ? OR "toSHA256" = ?"#
            let removed = try DeltaCacheRow.fetchAll(
                connection,
                involving + #" ORDER BY "fromSHA256", "toSHA256""#,
                [.bytes(sha256), .bytes(sha256)]
            ).map(\.record)
            try connection.execute(#"DELETE FROM "deltaCache" "# + involving, [.bytes(sha256), .bytes(sha256)])
            return removed
        }
    }
}
