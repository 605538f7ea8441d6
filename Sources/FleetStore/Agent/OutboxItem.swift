import Foundation

/// A message waiting in the agent's outbox for delivery to the coordinator.
public struct OutboxItem: Sendable, Equatable {
    /// Strictly increasing, never reused, even after items are acknowledged.
    public var sequence: Int64
    public var kind: String
    public var payload: [UInt8]
    public var idempotencyKey: String?
    public var createdAt: Date

    public init(sequence: Int64, kind: String, payload: [UInt8], idempotencyKey: String?, createdAt: Date) {
        self.sequence = sequence
        self.kind = kind
        self.payload = payload
        self.idempotencyKey = idempotencyKey
        self.createdAt = createdAt
    }
}
