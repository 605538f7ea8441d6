import Foundation

/// The consent of one purpose at one instant.
public enum ConsentState: Sendable, Hashable {
    /// No grant was ever applied (the default: nothing is granted).
    case notGranted
    /// Granted, without end or until the given instant.
    case granted(until: Date?)
    /// The last grant ran out at the given instant.
    case expired(at: Date)
    /// Revoked at the given instant.
    case revoked(at: Date)

    public var isGranted: Bool {
        if case .granted = self { return true }
        return false
    }
}

/// One device's consent history, as kept by the agent and, independently, by the coordinator. A pure value.
///
/// ``apply(_:publicKey:now:)`` accepts a record only if: its signature verifies with `publicKey`; both the record
/// and the key belong to ``deviceID``; its sequence is above the last applied one; it is not issued later than
/// `now + clockSkew`; a grant's `until` is after its `issuedAt` and after `now`; and a grant is not dated before the
/// latest applied record. A revoke may carry an earlier date than the records before it (a device clock that went
/// back must never stop an owner from revoking); it then takes effect from that earlier date, which is the more
/// restrictive reading. A revoke dated ahead (up to `clockSkew`, as ``apply(_:publicKey:now:)`` allows) takes effect
/// `clockSkew` before its date, so it is in force from the moment it is applied, never leaving the grant it
/// revokes in force until the device's clock catches up.
public struct ConsentLedger: Sendable, Hashable {
    public let deviceID: String
    /// How far a record's `issuedAt` may be ahead of the receiver's clock.
    public let clockSkew: TimeInterval
    /// Every applied record, in sequence order.
    public private(set) var history: [SignedConsentRecord] = []

    public init(deviceID: String, clockSkew: TimeInterval = 300) {
        self.deviceID = deviceID
        self.clockSkew = clockSkew
    }

    /// Rebuilds a ledger from a stored history, checking each record as of its own issue time.
    public static func restoring(
        deviceID: String,
        publicKey: [UInt8],
        history: [SignedConsentRecord],
        clockSkew: TimeInterval = 300
    ) throws(ConsentError) -> ConsentLedger {
        var ledger = ConsentLedger(deviceID: deviceID, clockSkew: clockSkew)
        for record in history {
            try ledger.apply(record, publicKey: publicKey, now: record.record.issuedAt)
        }
        return ledger
    }

    /// The sequence number of the last applied record.
    public var lastSequence: UInt64? { history.last?.record.sequence }

    /// Verifies `signed` and appends it to the history, or throws without changing anything.
    public mutating func apply(_ signed: SignedConsentRecord, publicKey: [UInt8], now: Date) throws(ConsentError) {
        guard DeviceIdentity.deviceID(forPublicKey: publicKey) == deviceID else {
            throw .wrongDevice("the key given is not \(deviceID)'s identity key")
        }
        let record: ConsentRecord
        do {
            record = try signed.verify(publicKey: publicKey)
        } catch {
            throw .forged("consent record refused: \(error.detail)")
        }
        guard record.deviceID == deviceID else {
            throw .wrongDevice("record names device \(record.deviceID), ledger is \(deviceID)")
        }
        if let last = history.last?.record {
            guard record.sequence > last.sequence else {
                throw .outOfOrder("sequence \(record.sequence) is not above the last applied \(last.sequence)")
            }
            guard record.action == .revoke || record.issuedAt >= last.issuedAt else {
                throw .outOfOrder("grant issued \(record.issuedAt) predates the last record (\(last.issuedAt))")
            }
        }
        guard record.issuedAt <= now.addingTimeInterval(clockSkew) else {
            throw .fromTheFuture("issued \(record.issuedAt), now is \(now), allowed skew \(Int(clockSkew)) s")
        }
        if let until = record.until {
            guard until > record.issuedAt else { throw .invalid("grant ends (\(until)) before it starts") }
            guard until > now else { throw .expired("grant for \(record.purpose.rawValue) ended at \(until)") }
        }
        history.append(signed)
    }

    /// Whether `purpose` is granted at `instant`, from the records issued at or before it.
    public func isGranted(_ purpose: ConsentPurpose, at instant: Date) -> Bool {
        state(of: purpose, at: instant).isGranted
    }

    /// The state of every purpose at `instant`.
    public func state(at instant: Date) -> [ConsentPurpose: ConsentState] {
        Dictionary(uniqueKeysWithValues: ConsentPurpose.allCases.map { ($0, state(of: $0, at: instant)) })
    }

    /// The state of `purpose` at `instant`: the last record (in sequence order) in effect at it decides.
    public func state(of purpose: ConsentPurpose, at instant: Date) -> ConsentState {
        var state = ConsentState.notGranted
        for signed in history where signed.record.purpose == purpose && isInEffect(signed.record, at: instant) {
            let record = signed.record
            state = record.action == .grant ? .granted(until: record.until) : .revoked(at: record.issuedAt)
        }
        if case .granted(let until?) = state, until <= instant { return .expired(at: until) }
        return state
    }

    /// The sequence of the grant that makes `purpose` granted at `instant`, or nil when it is not granted.
    public func grantInForce(_ purpose: ConsentPurpose, at instant: Date) -> UInt64? {
        guard isGranted(purpose, at: instant) else { return nil }
        return history.last { $0.record.purpose == purpose && isInEffect($0.record, at: instant) }?.record.sequence
    }

    /// A grant is in effect from its `issuedAt`; a revoke from `clockSkew` before it (see the type's comment).
    private func isInEffect(_ record: ConsentRecord, at instant: Date) -> Bool {
        switch record.action {
        case .grant: record.issuedAt <= instant
        case .revoke: record.issuedAt <= instant.addingTimeInterval(clockSkew)
        }
    }
}
