import Foundation

/// One change of a device's query quota for one model, signed by the coordinator's release key
/// (``SignedQuotaGrant``, `Protocol/METERING.md`). A grant adds `queries` to what the device may answer; a revoke
/// cancels every earlier grant (lower sequence) for the same device and model. Prices are integers in
/// micro-units of `currency` per query, so that every amount is exact.
public struct QuotaGrant: Codable, Sendable, Hashable {
    public enum Action: UInt8, Codable, Sendable, Hashable {
        case grant = 0
        case revoke = 1
    }

    public let deviceID: String
    public let model: String
    /// Per coordinator, strictly increasing across all devices and models: the grant's identity.
    public let sequence: UInt64
    public let action: Action
    public let queries: UInt64
    public let issuedAt: Date
    /// After this instant the grant stops counting; nil: no expiry.
    public let expiresAt: Date?
    /// Price of one query in micro-units (1/1,000,000) of `currency`.
    public let priceMicros: UInt64
    /// ISO 4217-like code, 0–8 bytes (empty without a price).
    public let currency: String
    /// Queries per second the device may answer under this grant; 0: no limit.
    public let ratePerSecond: UInt64
    /// Extra queries the device may answer while it cannot reach the coordinator; 0: none.
    public let offlineGrace: UInt64
    /// Price of one query answered by the coordinator for the device (offloaded), in micro-units.
    public let cloudPriceMicros: UInt64

    public init(
        deviceID: String,
        model: String,
        sequence: UInt64,
        action: Action = .grant,
        queries: UInt64,
        issuedAt: Date,
        expiresAt: Date? = nil,
        priceMicros: UInt64 = 0,
        currency: String = "",
        ratePerSecond: UInt64 = 0,
        offlineGrace: UInt64 = 0,
        cloudPriceMicros: UInt64 = 0
    ) {
        self.deviceID = deviceID
        self.model = model
        self.sequence = sequence
        self.action = action
        self.queries = queries
        self.issuedAt = Milliseconds.normalized(issuedAt)
        self.expiresAt = expiresAt.map(Milliseconds.normalized)
        self.priceMicros = priceMicros
        self.currency = currency
        self.ratePerSecond = ratePerSecond
        self.offlineGrace = offlineGrace
        self.cloudPriceMicros = cloudPriceMicros
    }

    static let domainPrefix = "tinyfleet-v1 quota-grant\0"
    static let maximumIDBytes = 128
    static let maximumModelBytes = 64
    static let maximumCurrencyBytes = 8

    /// Whether the grant counts at `instant` (a revoke never does).
    public func isValid(at instant: Date) -> Bool {
        action == .grant && expiresAt.map { instant < $0 } ?? true
    }

    /// The bytes the coordinator signs (`Protocol/METERING.md`, "Grant"):
    /// ```
    /// "tinyfleet-v1 quota-grant\0"   25 bytes
    /// deviceID      string   1...128 bytes
    /// model         string   1...64 bytes
    /// sequence      varint   ≥ 1
    /// action        1 byte   0 = grant, 1 = revoke
    /// queries       varint   0 on a revoke
    /// issuedAt      varint   milliseconds since the epoch
    /// expiresAt     optional 0x00, or 0x01 + varint milliseconds (grants only)
    /// priceMicros   varint
    /// currency      string   0...8 bytes
    /// ratePerSecond varint   0 = no limit
    /// offlineGrace  varint   0 = none
    /// cloudPriceMicros varint price of one offloaded query
    /// ```
    public func canonicalBytes() throws(TrustError) -> [UInt8] {
        try validate()
        var writer = CanonicalWriter(prefix: Self.domainPrefix)
        writer.string(deviceID)
        writer.string(model)
        writer.varint(sequence)
        writer.byte(action.rawValue)
        writer.varint(queries)
        writer.varint(UInt64(Milliseconds.from(issuedAt)))
        if let expiresAt {
            writer.byte(1)
            writer.varint(UInt64(Milliseconds.from(expiresAt)))
        } else {
            writer.byte(0)
        }
        writer.varint(priceMicros)
        writer.string(currency)
        writer.varint(ratePerSecond)
        writer.varint(offlineGrace)
        writer.varint(cloudPriceMicros)
        return writer.bytes
    }

    static func decode(from reader: inout CanonicalReader) throws(TrustError) -> QuotaGrant {
        try reader.expectPrefix(domainPrefix)
        let deviceID = try reader.string(maxBytes: maximumIDBytes)
        let model = try reader.string(maxBytes: maximumModelBytes)
        let sequence = try reader.varint()
        let action: Action
        switch try reader.byte() {
        case 0: action = .grant
        case 1: action = .revoke
        case let other: throw .malformed("unknown quota action \(other)")
        }
        let queries = try reader.varint()
        let issuedAt = try reader.varint(maximum: UInt64(Milliseconds.maximum))
        let expiresAt = try reader.optionalFlag() ? try reader.varint(maximum: UInt64(Milliseconds.maximum)) : nil
        let grant = QuotaGrant(
            deviceID: deviceID,
            model: model,
            sequence: sequence,
            action: action,
            queries: queries,
            issuedAt: Milliseconds.date(Int64(issuedAt)),
            expiresAt: expiresAt.map { Milliseconds.date(Int64($0)) },
            priceMicros: try reader.varint(),
            currency: try reader.string(maxBytes: maximumCurrencyBytes),
            ratePerSecond: try reader.varint(),
            offlineGrace: try reader.varint(),
            cloudPriceMicros: try reader.varint()
        )
        try grant.validate()
        return grant
    }

    private func validate() throws(TrustError) {
        guard !deviceID.isEmpty, deviceID.utf8.count <= Self.maximumIDBytes else {
            throw .malformed("quota grant: device id must have 1...128 bytes")
        }
        guard !model.isEmpty, model.utf8.count <= Self.maximumModelBytes else {
            throw .malformed("quota grant: model name must have 1...64 bytes")
        }
        guard currency.utf8.count <= Self.maximumCurrencyBytes else {
            throw .malformed("quota grant: currency must have at most 8 bytes")
        }
        guard sequence >= 1 else { throw .malformed("quota grant: sequence must be at least 1") }
        guard action == .grant || (queries == 0 && expiresAt == nil) else {
            throw .malformed("quota grant: a revoke carries no queries and no expiry")
        }
    }
}
