import Foundation

/// What a device may still answer for one model, from its grants and what its ledger drew on them
/// (`Protocol/METERING.md`, "Balance"). Pure: the agent meters with it and the coordinator bills with it, so both
/// count the same way.
///
/// - A grant stands unless a revoke with a higher sequence names the same device and model.
/// - A standing grant counts while it has not expired; grants add up.
/// - Queries are drawn from the valid grant that expires first (then the oldest).
/// - Offline grace: beyond the valid grants, and only while the coordinator cannot be reached, up to the newest
///   standing grant's `offlineGrace` queries, drawn on that grant.
public struct QuotaBalance: Sendable, Hashable {
    public struct Allocation: Sendable, Hashable {
        public var grant: UInt64
        public var kind: UsageReceipt.Kind
        public var count: UInt64

        public init(grant: UInt64, kind: UsageReceipt.Kind, count: UInt64) {
            self.grant = grant
            self.kind = kind
            self.count = count
        }
    }

    /// Standing grants (not revoked), by sequence.
    public let standing: [QuotaGrant]
    /// Standing grants valid at the balance's instant.
    public let valid: [QuotaGrant]
    public let drawn: [UInt64: UInt64]
    public let graceDrawn: [UInt64: UInt64]

    public init(grants: [QuotaGrant], drawn: [UInt64: UInt64], graceDrawn: [UInt64: UInt64], at instant: Date) {
        let sorted = grants.sorted { $0.sequence < $1.sequence }
        standing = sorted.filter { grant in
            grant.action == .grant
                && !sorted.contains { $0.action == .revoke && $0.model == grant.model && $0.sequence > grant.sequence }
        }
        valid = standing.filter { $0.isValid(at: instant) }
        self.drawn = drawn
        self.graceDrawn = graceDrawn
    }

    /// Queries of the valid grants.
    public var granted: UInt64 { valid.reduce(0) { $0 &+ $1.queries } }
    /// Queries drawn on the valid grants.
    public var used: UInt64 { valid.reduce(0) { $0 &+ min(drawn[$1.sequence] ?? 0, $1.queries) } }
    /// Queries the valid grants still allow.
    public var remaining: UInt64 { granted - used }
    /// The grant that carries the offline grace and the rate limit: the newest standing one.
    public var newest: QuotaGrant? { standing.last }
    /// Offline-grace queries left.
    public var graceRemaining: UInt64 {
        guard let newest else { return 0 }
        let spent = graceDrawn[newest.sequence] ?? 0
        return newest.offlineGrace > spent ? newest.offlineGrace - spent : 0
    }

    /// Splits `count` queries over the grants: within valid grants first, then (when `offline`) the grace.
    /// The total may be less than `count` (none: refuse).
    public func allocate(_ count: UInt64, offline: Bool) -> [Allocation] {
        var left = count
        var allocations: [Allocation] = []
        let order = valid.sorted {
            ($0.expiresAt ?? .distantFuture, $0.sequence) < ($1.expiresAt ?? .distantFuture, $1.sequence)
        }
        for grant in order where left > 0 {
            let available = grant.queries - min(drawn[grant.sequence] ?? 0, grant.queries)
            let take = min(available, left)
            if take > 0 {
                allocations.append(Allocation(grant: grant.sequence, kind: .granted, count: take))
                left -= take
            }
        }
        if offline, left > 0, let newest {
            let take = min(graceRemaining, left)
            if take > 0 { allocations.append(Allocation(grant: newest.sequence, kind: .offlineGrace, count: take)) }
        }
        return allocations
    }
}
