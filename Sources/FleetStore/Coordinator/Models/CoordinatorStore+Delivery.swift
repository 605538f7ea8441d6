import Foundation
import GRDB

extension CoordinatorStore {
    /// Appends a completed delivery to the log and returns it with its sequence number. Throws
    /// `invalidArgument` for an encoding other than "delta" or "full", or a negative byte count or offset.
    @discardableResult
    public func recordTransfer(_ transfer: NewTransfer) async throws -> TransferRecord {
        try ModelValidation.transfer(transfer)
        return try await write { db in
            var row = TransferRow(transfer)
            try row.insert(db)
            return try row.record()
        }
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
        return try await read { db in
            var request = TransferRow.all()
            if let deviceID {
                request = request.filter(TransferRow.Columns.deviceID == deviceID)
            }
            if let model {
                request = request.filter(TransferRow.Columns.model == model)
            }
            if let afterSequence {
                request = request.filter(TransferRow.Columns.sequence > afterSequence)
            }
            request = request.order(TransferRow.Columns.sequence)
            if let limit {
                request = request.limit(limit)
            }
            return try request.fetchAll(db).map { try $0.record() }
        }
    }

    /// The cached delta from one weights file to another, or nil.
    public func cachedDelta(fromSHA256: [UInt8], toSHA256: [UInt8]) async throws -> DeltaCacheRecord? {
        try await read { db in
            try DeltaCacheRow.filter(
                DeltaCacheRow.Columns.fromSHA256 == Data(fromSHA256) && DeltaCacheRow.Columns.toSHA256 == Data(toSHA256)
            ).fetchOne(db)?.record
        }
    }

    /// Stores the index entry of a delta, replacing any entry for the same (from, to) pair. Throws
    /// `invalidArgument` for a digest that is not 32 bytes, an empty encoding or path, or a negative size.
    public func storeCachedDelta(_ record: DeltaCacheRecord) async throws {
        try ModelValidation.delta(record)
        try await write { db in
            try DeltaCacheRow(record).insert(db, onConflict: .replace)
        }
    }

    /// Every cached payload's index entry, oldest first (for keeping the cache within its byte budget).
    public func cachedDeltas() async throws -> [DeltaCacheRecord] {
        try await read { db in
            try DeltaCacheRow.order(DeltaCacheRow.Columns.createdAt, DeltaCacheRow.Columns.path).fetchAll(db)
                .map(\.record)
        }
    }

    /// Removes one cached payload's index entry; returns whether there was one.
    @discardableResult
    public func removeCachedDelta(fromSHA256: [UInt8], toSHA256: [UInt8]) async throws -> Bool {
        try await write { db in
            try DeltaCacheRow.filter(
                DeltaCacheRow.Columns.fromSHA256 == Data(fromSHA256) && DeltaCacheRow.Columns.toSHA256 == Data(toSHA256)
            ).deleteAll(db) > 0
        }
    }

    /// Removes the index entries of every delta from or to the weights file with this SHA-256 (for
    /// example after pruning that blob), and returns them so the caller can delete their files.
    public func removeCachedDeltas(involvingSHA256 sha256: [UInt8]) async throws -> [DeltaCacheRecord] {
        try await write { db in
            let digest = Data(sha256)
            let involving = DeltaCacheRow.filter(
                DeltaCacheRow.Columns.fromSHA256 == digest || DeltaCacheRow.Columns.toSHA256 == digest
            )
            let removed = try involving.order(DeltaCacheRow.Columns.fromSHA256, DeltaCacheRow.Columns.toSHA256)
                .fetchAll(db)
                .map(\.record)
            try involving.deleteAll(db)
            return removed
        }
    }
}
