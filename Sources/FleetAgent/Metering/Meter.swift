import FleetStore
import FleetTrust
import Foundation

/// A model's quota as the local socket reports it (`Protocol/LOCAL.md`, "quota"): what the valid grants allow,
/// what was used, what is left, the offline grace left and whether the coordinator is reachable.
public struct QuotaStateView: Codable, Sendable, Hashable {
    public var model: String
    public var granted: UInt64
    public var used: UInt64
    public var remaining: UInt64
    public var graceRemaining: UInt64
    public var offline: Bool
    /// Grants held for the model that do not count: signed by another key or for another device.
    public var rejectedGrants: Int
    public var ratePerSecond: UInt64
}

/// What metering decided for a request of `requested` queries.
public enum MeterDecision: Sendable {
    /// The model is not metered: answer freely.
    case unmetered
    /// `allowed` of the queries may be answered (0: refuse them all); `limitedByRate` when the rate limit, not the
    /// quota, held some back.
    case metered(allowed: Int, state: QuotaStateView, limitedByRate: Bool)
}

/// Meters queries of metered models (any grant held for the model): each answered query is drawn on a valid
/// grant, or on the offline grace while the coordinator is out of reach, and recorded as a signed receipt in
/// the usage ledger, in the same SQLite transaction as the decision.
public struct Meter: Sendable {
    let store: AgentStore
    let identity: DeviceIdentity
    let deviceID: String
    let releaseKey: @Sendable () async throws -> [UInt8]?
    /// Whether the coordinator is reachable now (offline grace applies only when it is not).
    let isConnected: @Sendable () -> Bool
    let rates: RateLimiter
    /// Whether a model was pushed `--metered` (metered even before any grant reaches the device).
    let pushedMetered: @Sendable (String) async throws -> Bool
    /// Told when receipts were recorded, so the session sends them at once.
    let usage: UsageSignal?

    public init(
        store: AgentStore,
        identity: DeviceIdentity,
        deviceID: String,
        releaseKey: @escaping @Sendable () async throws -> [UInt8]?,
        isConnected: @escaping @Sendable () -> Bool,
        rates: RateLimiter = RateLimiter(),
        pushedMetered: @escaping @Sendable (String) async throws -> Bool = { _ in false },
        usage: UsageSignal? = nil
    ) {
        self.store = store
        self.identity = identity
        self.deviceID = deviceID
        self.releaseKey = releaseKey
        self.isConnected = isConnected
        self.rates = rates
        self.pushedMetered = pushedMetered
        self.usage = usage
    }

    /// Decides, and records receipts for, `requested` queries of `model` v`version`.
    /// With `kind` `.cloud` the queries were answered by the coordinator: drawn on valid grants only (no grace),
    /// and billed at the grant's cloud price.
    public func charge(
        model: String,
        version: Int,
        requested: Int,
        kind: UsageReceipt.Kind = .granted,
        now: Date = Date()
    ) async throws -> MeterDecision {
        let key = try await releaseKey() ?? []
        let offline = !isConnected()
        let deviceID = self.deviceID
        let identity = self.identity
        let rates = self.rates
        let pushed = try await pushedMetered(model)
        let decision = try await store.meter(model: model) { snapshot in
            guard !snapshot.grants.isEmpty || pushed else { return ([], MeterDecision.unmetered) }
            var grants: [QuotaGrant] = []
            var rejected = 0
            for record in snapshot.grants {
                if let grant = try? SignedQuotaGrant(decoding: record).verify(
                    releasePublicKey: key,
                    deviceID: deviceID
                ),
                    grant.model == model
                {
                    grants.append(grant)
                } else {
                    rejected += 1
                }
            }
            let balance = QuotaBalance(
                grants: grants,
                drawn: snapshot.drawn,
                graceDrawn: snapshot.graceDrawn,
                at: now
            )
            let rate = balance.newest?.ratePerSecond ?? 0
            let permitted = rates.take(model, requested: requested, perSecond: rate, now: now)
            let allocations = balance.allocate(UInt64(permitted), offline: offline && kind != .cloud).map {
                kind == .cloud ? QuotaBalance.Allocation(grant: $0.grant, kind: .cloud, count: $0.count) : $0
            }
            var head = snapshot.head
            var receipts: [SignedUsageReceipt] = []
            // Read inside the transaction, which orders the requests: concurrent requests (several socket
            // connections) are chained with windows that never go back, unless the clock itself does.
            let at = max(now, Date())
            for allocation in allocations {
                let receipt = UsageReceipt(
                    deviceID: deviceID,
                    index: head.map { $0.position + 1 } ?? 0,
                    previous: head?.hash ?? UsageReceipt.genesis,
                    model: model,
                    version: UInt64(max(version, 0)),
                    grant: allocation.grant,
                    kind: allocation.kind,
                    count: allocation.count,
                    windowStart: at,
                    windowEnd: at
                )
                let signed = try SignedUsageReceipt.sign(receipt, with: identity)
                receipts.append(signed)
                head = (receipt.index, try signed.hash())
            }
            let allowed = Int(allocations.reduce(0) { $0 + $1.count })
            var drawn = snapshot.drawn
            var grace = snapshot.graceDrawn
            for allocation in allocations {
                if allocation.kind != .offlineGrace {
                    drawn[allocation.grant, default: 0] += allocation.count
                } else {
                    grace[allocation.grant, default: 0] += allocation.count
                }
            }
            let after = QuotaBalance(grants: grants, drawn: drawn, graceDrawn: grace, at: now)
            if allowed < permitted { rates.giveBack(model, permitted - allowed) }
            let state = QuotaStateView(
                model: model,
                granted: after.granted,
                used: after.used,
                remaining: after.remaining,
                graceRemaining: after.graceRemaining,
                offline: offline,
                rejectedGrants: rejected,
                ratePerSecond: rate
            )
            return (receipts, .metered(allowed: allowed, state: state, limitedByRate: permitted < requested))
        }
        if case .metered(let allowed, _, _) = decision, allowed > 0 { usage?.recorded() }
        return decision
    }
}
