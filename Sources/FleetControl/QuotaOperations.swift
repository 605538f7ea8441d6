import FleetClient
import FleetCoordinator
import FleetStore
import FleetTrust
import FleetWire
import Foundation

/// A grant or revoke as `fleetctl quotas --json` and `quota grant --json` print it.
public struct QuotaGrantView: Codable, Sendable, Equatable {
    public var sequence: UInt64
    public var device: String
    public var name: String
    public var model: String
    /// `grant` or `revoke`.
    public var action: String
    public var queries: UInt64
    public var issuedAt: String
    public var expiresAt: String?
    /// Price per query in micro-units of `currency`, and per 1,000 queries in currency units (for people).
    public var priceMicros: UInt64
    public var pricePer1000: String
    public var currency: String
    public var ratePerSecond: UInt64
    public var offlineGrace: UInt64
    public var cloudPriceMicros: UInt64
    /// `active`, `expired` or `revoked` (always `revoke` for a revoke).
    public var state: String
}

/// What `fleetctl quota grant` asks for.
public struct QuotaRequest: Sendable {
    public var device: String
    public var selector: [String: String]
    public var model: String
    public var revoke: Bool
    public var queries: UInt64
    public var expiresIn: Duration?
    public var priceMicros: UInt64
    public var currency: String
    public var ratePerSecond: Int
    public var offlineGrace: Int
    public var cloudPriceMicros: UInt64

    public init(
        device: String,
        selector: [String: String],
        model: String,
        revoke: Bool = false,
        queries: UInt64 = 0,
        expiresIn: Duration? = nil,
        priceMicros: UInt64 = 0,
        currency: String = "",
        ratePerSecond: Int = 0,
        offlineGrace: Int = 0,
        cloudPriceMicros: UInt64 = 0
    ) {
        self.device = device
        self.selector = selector
        self.model = model
        self.revoke = revoke
        self.queries = queries
        self.expiresIn = expiresIn
        self.priceMicros = priceMicros
        self.currency = currency
        self.ratePerSecond = ratePerSecond
        self.offlineGrace = offlineGrace
        self.cloudPriceMicros = cloudPriceMicros
    }
}

extension FleetInspector {
    /// Grants (or revokes) through the coordinator, which signs each grant and pushes it to the device.
    public func grantQuota(_ request: QuotaRequest) async throws -> [QuotaGrantView] {
        let message = GrantQuota(
            requestID: 1,
            device: request.device,
            selector: request.selector,
            model: request.model,
            action: request.revoke ? 1 : 0,
            queries: request.queries,
            expiresInSeconds: Int(request.expiresIn?.components.seconds ?? 0),
            priceMicros: request.priceMicros,
            currency: request.currency,
            ratePerSecond: request.ratePerSecond,
            offlineGrace: request.offlineGrace,
            cloudPriceMicros: request.cloudPriceMicros
        )
        let granted = try await target.withAdminConnection { connection in
            let reply = try await connection.request(.grantQuota(message))
            guard case .quotaGranted(let granted) = reply else { throw FleetClientError.unexpected(reply) }
            return granted.grants
        }
        let grants = try granted.map { try SignedQuotaGrant(decoding: $0).grant }
        let names = try await deviceNames()
        return Self.views(grants, names: names, now: Date())
    }

    /// Every grant and revoke, from the coordinator's database.
    public func quotas(now: Date = Date()) async throws -> [QuotaGrantView] {
        let store = try await requireLocalStore("quotas")
        let grants = try await store.quotaGrants().map(\.grant)
        let names = Dictionary(try await store.devices().map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
        return Self.views(grants, names: names, now: now)
    }

    private func deviceNames() async throws -> [String: String] {
        guard let store = try await target.localStore() else { return [:] }
        return Dictionary(try await store.devices().map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
    }

    static func views(_ grants: [QuotaGrant], names: [String: String], now: Date) -> [QuotaGrantView] {
        grants.map { grant in
            let revoked = grants.contains {
                $0.action == .revoke && $0.deviceID == grant.deviceID && $0.model == grant.model
                    && $0.sequence > grant.sequence
            }
            let state =
                grant.action == .revoke
                ? "revoke" : revoked ? "revoked" : grant.isValid(at: now) ? "active" : "expired"
            return QuotaGrantView(
                sequence: grant.sequence,
                device: grant.deviceID,
                name: names[grant.deviceID] ?? "",
                model: grant.model,
                action: grant.action == .grant ? "grant" : "revoke",
                queries: grant.queries,
                issuedAt: ISO8601.string(grant.issuedAt),
                expiresAt: grant.expiresAt.map(ISO8601.string),
                priceMicros: grant.priceMicros,
                pricePer1000: Money.text(micros: grant.priceMicros * 1000),
                currency: grant.currency,
                ratePerSecond: grant.ratePerSecond,
                offlineGrace: grant.offlineGrace,
                cloudPriceMicros: grant.cloudPriceMicros,
                state: state
            )
        }
    }
}

/// Money is integer micro-units (1/1,000,000 of the currency unit) everywhere; these turn it into text.
public enum Money {
    /// `micros` in currency units with six decimals, exactly: 150000 → "0.150000".
    public static func text(micros: UInt64) -> String {
        let fraction = String(micros % 1_000_000)
        return "\(micros / 1_000_000)." + String(repeating: "0", count: 6 - fraction.count) + fraction
    }

    /// `micros` as a JSON number in currency units (0.15 for 150000); exact for display, never summed.
    public static func units(micros: UInt64) -> Double {
        Double(micros) / 1_000_000
    }
}

extension Output {
    public static func quotasTable(_ views: [QuotaGrantView]) -> String {
        Table(
            headers: [
                "#", "DEVICE", "NAME", "MODEL", "ACTION", "QUERIES", "PRICE/1000", "RATE", "GRACE", "EXPIRES", "STATE",
            ],
            rows: views.map {
                [
                    "\($0.sequence)", $0.device, $0.name, $0.model, $0.action, "\($0.queries)",
                    $0.priceMicros == 0 ? "-" : "\($0.pricePer1000) \($0.currency)",
                    $0.ratePerSecond == 0 ? "-" : "\($0.ratePerSecond)/s",
                    $0.offlineGrace == 0 ? "-" : "\($0.offlineGrace)",
                    $0.expiresAt ?? "never", $0.state,
                ]
            }
        ).render()
    }

    public static func usageTable(_ views: [UsageView]) -> String {
        Table(
            headers: ["DEVICE", "NAME", "MODEL", "QUERIES", "GRANTED", "REMAINING", "AMOUNT", "LAST RECEIPT", "FLAGS"],
            rows: views.map {
                [
                    $0.device, $0.name, $0.model, "\($0.queries)", "\($0.granted)", "\($0.remaining)",
                    "\(Money.text(micros: $0.amountMicros)) \($0.currency)", $0.lastReceiptAt ?? "-",
                    $0.flags.isEmpty ? "-" : $0.flags.joined(separator: ","),
                ]
            }
        ).render()
    }
}
