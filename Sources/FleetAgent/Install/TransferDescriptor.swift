import Foundation

/// How a transfer's payload relates to the model it produces.
public enum TransferPayloadEncoding: String, Sendable, Hashable, Codable {
    /// A delta against the installed version named by ``TransferDescriptor/baseVersion``.
    case delta
    /// The whole model file.
    case full
}

/// What the coordinator announced about one incoming payload.
public struct TransferDescriptor: Sendable, Hashable {
    public var model: String
    public var version: String
    public var variant: String
    public var encoding: TransferPayloadEncoding
    /// The installed version a delta applies to; nil for full transfers.
    public var baseVersion: String?
    /// The digest of the whole payload (not of the resulting model), as hex.
    public var payloadSHA256: String
    public var totalBytes: Int

    public init(
        model: String,
        version: String,
        variant: String,
        encoding: TransferPayloadEncoding,
        baseVersion: String?,
        payloadSHA256: String,
        totalBytes: Int
    ) {
        self.model = model
        self.version = version
        self.variant = variant
        self.encoding = encoding
        self.baseVersion = baseVersion
        self.payloadSHA256 = payloadSHA256.lowercased()
        self.totalBytes = totalBytes
    }
}

/// The durable progress of one transfer: the next chunk must start at ``receivedBytes``.
public struct TransferProgress: Sendable, Hashable {
    public var descriptor: TransferDescriptor
    /// Bytes of the payload that are durably on disk.
    public var receivedBytes: Int
    public var startedAt: Date

    public init(descriptor: TransferDescriptor, receivedBytes: Int, startedAt: Date) {
        self.descriptor = descriptor
        self.receivedBytes = receivedBytes
        self.startedAt = startedAt
    }

    public var model: String { descriptor.model }
    /// Whether every byte has been received (the digest is checked by ``TransferJournal/complete(model:)``).
    public var isComplete: Bool { receivedBytes == descriptor.totalBytes }
}

/// The on-disk form of a transfer's `state.json`, versioned like Mender's `StateData`.
struct TransferStateRecord: Codable {
    static let currentFormat = 1

    var formatVersion: Int
    var model: String
    var version: String
    var variant: String
    var encoding: TransferPayloadEncoding
    var baseVersion: String?
    var payloadSHA256: String
    var totalBytes: Int
    var receivedBytes: Int
    var startedAt: Date

    init(_ progress: TransferProgress) {
        formatVersion = Self.currentFormat
        model = progress.descriptor.model
        version = progress.descriptor.version
        variant = progress.descriptor.variant
        encoding = progress.descriptor.encoding
        baseVersion = progress.descriptor.baseVersion
        payloadSHA256 = progress.descriptor.payloadSHA256
        totalBytes = progress.descriptor.totalBytes
        receivedBytes = progress.receivedBytes
        startedAt = progress.startedAt
    }

    var progress: TransferProgress {
        let descriptor = TransferDescriptor(
            model: model,
            version: version,
            variant: variant,
            encoding: encoding,
            baseVersion: baseVersion,
            payloadSHA256: payloadSHA256,
            totalBytes: totalBytes
        )
        return TransferProgress(descriptor: descriptor, receivedBytes: receivedBytes, startedAt: startedAt)
    }

    private enum CodingKeys: String, CodingKey {
        case formatVersion, model, version, variant, encoding, baseVersion, payloadSHA256, totalBytes
        case receivedBytes, startedAt
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(formatVersion, forKey: .formatVersion)
        try container.encode(model, forKey: .model)
        try container.encode(version, forKey: .version)
        try container.encode(variant, forKey: .variant)
        try container.encode(encoding, forKey: .encoding)
        try container.encode(baseVersion, forKey: .baseVersion)  // written as null for full transfers
        try container.encode(payloadSHA256, forKey: .payloadSHA256)
        try container.encode(totalBytes, forKey: .totalBytes)
        try container.encode(receivedBytes, forKey: .receivedBytes)
        try container.encode(startedAt, forKey: .startedAt)
    }
}

/// JSON coding shared by the journal and the installer: sorted keys, ISO 8601 dates, base64 bytes.
enum ModelStateJSON {
    static func encode<Value: Encodable>(_ value: Value) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        encoder.dateEncodingStrategy = .iso8601
        return Array(try encoder.encode(value))
    }

    /// Decodes a state file, or returns nil when its bytes are not a valid record.
    static func decode<Value: Decodable>(_ type: Value.Type, from bytes: [UInt8]) -> Value? {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try? decoder.decode(type, from: Data(bytes))
    }
}
