import Foundation

/// What a device owner may consent to. Raw values are the wire names.
public enum ConsentPurpose: String, Codable, Sendable, Hashable, CaseIterable {
    case driftStats = "drift-stats"
    case samples
    case training
    /// The application reports the true labels of earlier predictions (`feedback` on the local socket).
    case feedback
}

/// One change of consent on one device, signed by the device's identity key (``SignedConsentRecord``).
///
/// `sequence` is per device and strictly increasing across all purposes. `until` bounds a grant and is only
/// valid on grants. Dates are kept to the millisecond (rounded on init).
public struct ConsentRecord: Codable, Sendable, Hashable {
    public enum Action: String, Codable, Sendable, Hashable {
        case grant
        case revoke
    }

    public let deviceID: String
    public let purpose: ConsentPurpose
    public let action: Action
    public let until: Date?
    public let issuedAt: Date
    public let sequence: UInt64

    public init(
        deviceID: String,
        purpose: ConsentPurpose,
        action: Action,
        until: Date? = nil,
        issuedAt: Date,
        sequence: UInt64
    ) {
        self.deviceID = deviceID
        self.purpose = purpose
        self.action = action
        self.until = until.map(Milliseconds.normalized)
        self.issuedAt = Milliseconds.normalized(issuedAt)
        self.sequence = sequence
    }

    static let domainPrefix = "tinyfleet-v1 consent\0"
    static let maxDeviceIDBytes = 128

    /// The bytes the device signs:
    /// ```
    /// "tinyfleet-v1 consent\0"   21 bytes
    /// deviceID   string          varint length + UTF-8, 1...128 bytes
    /// purpose    string          "drift-stats" | "samples" | "training"
    /// action     1 byte          0 = grant, 1 = revoke
    /// until      optional        0x00, or 0x01 + varint milliseconds since the epoch (grants only)
    /// issuedAt   varint          milliseconds since the epoch
    /// sequence   varint          64-bit
    /// ```
    public func canonicalBytes() throws(TrustError) -> [UInt8] {
        try validate()
        var writer = CanonicalWriter(prefix: Self.domainPrefix)
        writer.string(deviceID)
        writer.string(purpose.rawValue)
        writer.byte(action == .grant ? 0 : 1)
        if let until {
            writer.byte(1)
            writer.varint(UInt64(Milliseconds.from(until)))
        } else {
            writer.byte(0)
        }
        writer.varint(UInt64(Milliseconds.from(issuedAt)))
        writer.varint(sequence)
        return writer.bytes
    }

    static func decode(from reader: inout CanonicalReader) throws(TrustError) -> ConsentRecord {
        try reader.expectPrefix(domainPrefix)
        let deviceID = try reader.string(maxBytes: maxDeviceIDBytes)
        let purposeName = try reader.string(maxBytes: 32)
        guard let purpose = ConsentPurpose(rawValue: purposeName) else {
            throw .malformed("unknown consent purpose \(purposeName.debugDescription)")
        }
        let action: Action
        switch try reader.byte() {
        case 0: action = .grant
        case 1: action = .revoke
        case let other: throw .malformed("unknown consent action \(other)")
        }
        let until = try reader.optionalFlag() ? try reader.varint(maximum: UInt64(Milliseconds.maximum)) : nil
        let issuedAt = try reader.varint(maximum: UInt64(Milliseconds.maximum))
        let record = ConsentRecord(
            deviceID: deviceID,
            purpose: purpose,
            action: action,
            until: until.map { Milliseconds.date(Int64($0)) },
            issuedAt: Milliseconds.date(Int64(issuedAt)),
            sequence: try reader.varint()
        )
        try record.validate()
        return record
    }

    private func validate() throws(TrustError) {
        guard !deviceID.isEmpty, deviceID.utf8.count <= Self.maxDeviceIDBytes else {
            throw .malformed("consent record: device id must have 1...128 bytes")
        }
        guard until == nil || action == .grant else { throw .malformed("consent record: only a grant has `until`") }
    }
}
