extension CoordinatorStore {
    /// Appends an event to the log and returns it with its sequence number.
    @discardableResult
    public func appendEvent(_ event: NewEvent) async throws -> EventRecord {
        try await sqlWrite { connection in try EventRow.append(event, in: connection) }
    }

    /// Events, newest last. `deviceID` nil means all events (fleet-wide ones included); otherwise only that
    /// device's; `kind` nil means every kind, otherwise only events of that kind. `afterSequence` keeps events
    /// with a greater sequence number. Of the matching events, only the newest `limit` are returned (none when
    /// `limit` is 0 or less).
    public func events(
        deviceID: String?,
        kind: String? = nil,
        limit: Int,
        afterSequence: Int64?
    ) async throws -> [EventRecord] {
        guard limit > 0 else { return [] }
        var conditions: [String] = []
        var arguments: [SQLValue] = []
        if let deviceID {
            conditions.append(#""deviceID" = ?"#)
            arguments.append(.text(deviceID))
        }
        if let kind {
            conditions.append(#""kind" = ?"#)
            arguments.append(.text(kind))
        }
        if let afterSequence {
            conditions.append(#""sequence" > ?"#)
            arguments.append(.integer(afterSequence))
        }
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ") + " "
        let clause = filter + #"ORDER BY "sequence" DESC LIMIT ?"#
        return try await sqlRead { [arguments] connection in
            try EventRow.fetchAll(connection, clause, arguments + [SQLValue(limit)]).reversed().map { $0.record() }
        }
    }

    /// The oldest `limit` events with a sequence number above `sequence`, oldest first: a poller that asks again
    /// from the last sequence it got misses none (none when `limit` is 0 or less).
    public func events(after sequence: Int64, limit: Int) async throws -> [EventRecord] {
        guard limit > 0 else { return [] }
        return try await sqlRead { connection in
            try EventRow.fetchAll(
                connection,
                #"WHERE "sequence" > ? ORDER BY "sequence" LIMIT ?"#,
                [.integer(sequence), SQLValue(limit)]
            ).map { $0.record() }
        }
    }
}
