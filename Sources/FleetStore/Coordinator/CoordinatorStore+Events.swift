import GRDB

extension CoordinatorStore {
    /// Appends an event to the log and returns it with its sequence number.
    @discardableResult
    public func appendEvent(_ event: NewEvent) async throws -> EventRecord {
        try await write { db in try EventRow.append(event, in: db) }
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
        return try await read { db in
            var request = EventRow.all()
            if let deviceID {
                request = request.filter(EventRow.Columns.deviceID == deviceID)
            }
            if let kind {
                request = request.filter(EventRow.Columns.kind == kind)
            }
            if let afterSequence {
                request = request.filter(EventRow.Columns.sequence > afterSequence)
            }
            let newestFirst = try request.order(EventRow.Columns.sequence.desc).limit(limit).fetchAll(db)
            return try newestFirst.reversed().map { try $0.record() }
        }
    }

    /// The oldest `limit` events with a sequence number above `sequence`, oldest first: a poller that asks again
    /// from the last sequence it got misses none (none when `limit` is 0 or less).
    public func events(after sequence: Int64, limit: Int) async throws -> [EventRecord] {
        guard limit > 0 else { return [] }
        return try await read { db in
            try EventRow.filter(EventRow.Columns.sequence > sequence).order(EventRow.Columns.sequence).limit(limit)
                .fetchAll(db).map { try $0.record() }
        }
    }
}
