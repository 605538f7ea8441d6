import Foundation
import GRDB

extension AgentStore {
    /// Appends a message to the outbox. With an `idempotencyKey` already pending, returns the pending item
    /// unchanged and adds no row. The key only deduplicates against pending items: once acknowledged, the
    /// same key can be enqueued again (the coordinator should deduplicate by key too).
    @discardableResult
    public func enqueue(kind: String, payload: [UInt8], idempotencyKey: String?, now: Date) async throws -> OutboxItem {
        try await write { db in
            if let idempotencyKey,
                let existing = try OutboxRow.filter(OutboxRow.Columns.idempotencyKey == idempotencyKey).fetchOne(db)
            {
                return try existing.item()
            }
            var row = OutboxRow(kind: kind, payload: payload, idempotencyKey: idempotencyKey, createdAt: now)
            try row.insert(db)
            return try row.item()
        }
    }

    /// Up to `limit` pending items, oldest first.
    public func pendingOutbox(limit: Int) async throws -> [OutboxItem] {
        guard limit > 0 else { return [] }
        return try await read { db in
            try OutboxRow.order(OutboxRow.Columns.sequence).limit(limit).fetchAll(db).map { try $0.item() }
        }
    }

    /// Deletes the items with a sequence number up to and including `sequence`; returns how many.
    public func acknowledgeOutbox(upTo sequence: Int64) async throws -> Int {
        try await write { db in
            try OutboxRow.filter(OutboxRow.Columns.sequence <= sequence).deleteAll(db)
        }
    }

    /// Deletes every pending item of this kind (for example superseded status reports); returns how many.
    public func removeOutbox(kind: String) async throws -> Int {
        try await write { db in
            try OutboxRow.filter(OutboxRow.Columns.kind == kind).deleteAll(db)
        }
    }

    public func outboxCount() async throws -> Int {
        try await read { db in try OutboxRow.fetchCount(db) }
    }
}
