import Foundation

/// A message for a device, queued for whichever coordinator of the fleet holds its connection.
public struct RelayedMessage: Sendable, Equatable {
    public var id: Int64
    public var deviceID: String
    /// The whole encoded frame, as the coordinator that queued it would have written it.
    public var frame: [UInt8]
    public var queuedAt: Date

    public init(id: Int64, deviceID: String, frame: [UInt8], queuedAt: Date) {
        self.id = id
        self.deviceID = deviceID
        self.frame = frame
        self.queuedAt = queuedAt
    }
}

/// The outbox between the coordinators of a fleet (README "Several coordinators"): a coordinator that has a message
/// for a device connected elsewhere queues it here; the one holding the connection sends it and deletes it. No
/// coordinator-to-coordinator protocol: the database is the only channel.
extension CoordinatorStore {
    /// Queues each message whose device the database has online (connected to some coordinator); a message for a
    /// device connected nowhere is dropped, as a send to it would be: it gets its state when it connects. Returns
    /// how many were queued.
    @discardableResult
    public func queueRelayed(_ messages: [(deviceID: String, frame: [UInt8])], at: Date) async throws -> Int {
        guard !messages.isEmpty else { return 0 }
        return try await sqlWrite { connection in
            var queued = 0
            for message in messages {
                queued += try connection.execute(
                    #"""
                    INSERT INTO "outbox" ("deviceID", "frame", "queuedAt")
                    SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM "device" WHERE "id" = ? AND "status" = 'online')
                    """#,
                    [
                        .text(message.deviceID), .bytes(message.frame), .integer(StoredDate.milliseconds(at)),
                        .text(message.deviceID),
                    ]
                )
            }
            return queued
        }
    }

    /// The oldest `limit` queued messages, in queue order.
    public func relayedMessages(limit: Int) async throws -> [RelayedMessage] {
        try await sqlRead { connection in
            try connection.query(
                #"SELECT "id", "deviceID", "frame", "queuedAt" FROM "outbox" ORDER BY "id" LIMIT ?"#,
                [.integer(Int64(limit))]
            ).map { row in
                RelayedMessage(
                    id: try row.int64("id"),
                    deviceID: try row.string("deviceID"),
                    frame: try row.bytes("frame"),
                    queuedAt: StoredDate.date(try row.int64("queuedAt"))
                )
            }
        }
    }

    /// Deletes the messages `ids` (delivered) and every message queued before `expiredBefore` (nobody held its
    /// device's connection in time). Returns how many expired.
    @discardableResult
    public func removeRelayed(ids: [Int64], expiredBefore: Date) async throws -> Int {
        try await sqlWrite { connection in
            for chunk in sqlInListChunks(ids) {
                _ = try connection.execute(
                    #"DELETE FROM "outbox" WHERE "id" IN (\#(chunk.placeholders))"#,
                    chunk.values.map { .integer($0) }
                )
            }
            return try connection.execute(
                #"DELETE FROM "outbox" WHERE "queuedAt" < ?"#,
                [.integer(StoredDate.milliseconds(expiredBefore))]
            )
        }
    }
}
