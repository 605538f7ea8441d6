import FleetTrust
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The coordinator's data directory: `coordinator.sqlite` (state), `admin.key` (the admin credential, mode 0600)
/// and `coordinator.json` (where it listens, for `fleetctl --data-dir`).
public struct CoordinatorDataDirectory: Sendable {
    public let path: String

    public init(path: String) {
        self.path = path
    }

    public var databasePath: String { path + "/coordinator.sqlite" }
    public var adminKeyPath: String { path + "/admin.key" }
    public var endpointPath: String { path + "/coordinator.json" }
    /// The Ed25519 key that signs release manifests (mode 0600); agents pin its public half at enrolment.
    public var releaseKeyPath: String { path + "/release.key" }
    /// The secret the devices' model-protection keys are derived from (mode 0600, `Protocol/AT-REST.md`).
    public var modelProtectionKeyPath: String { path + "/model-protection.key" }

    /// Where a running coordinator listens.
    public struct Endpoint: Codable, Sendable, Equatable {
        public var host: String
        public var port: Int
        public var tls: Bool
        public var certificatePath: String?
        public var pid: Int32
        public init(host: String, port: Int, tls: Bool, certificatePath: String?, pid: Int32) {
            self.host = host
            self.port = port
            self.tls = tls
            self.certificatePath = certificatePath
            self.pid = pid
        }
    }

    /// Creates the directory (0700) if it does not exist.
    public func create() throws {
        do {
            try FileManager.default.createDirectory(
                atPath: path,
                withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700]
            )
        } catch {
            throw CoordinatorError.dataDirectory("cannot create \(path): \(error.localizedDescription)")
        }
    }

    /// Loads the admin credential, creating it on first start.
    public func loadOrCreateAdminCredential() throws -> AdminCredential {
        if let bytes = FileManager.default.contents(atPath: adminKeyPath) {
            return try AdminCredential(bytes: Array(bytes))
        }
        let credential = AdminCredential.generate()
        try Self.writeSecret(Data(credential.bytes), to: adminKeyPath)
        return credential
    }

    /// Reads the admin credential (for `fleetctl`).
    public func adminCredential() throws -> AdminCredential {
        guard let bytes = FileManager.default.contents(atPath: adminKeyPath) else {
            throw CoordinatorError.dataDirectory("no admin.key in \(path): has a coordinator run here?")
        }
        return try AdminCredential(bytes: Array(bytes))
    }

    public func writeEndpoint(_ endpoint: Endpoint) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let temporary = endpointPath + ".tmp"
        try encoder.encode(endpoint).write(to: URL(fileURLWithPath: temporary))
        guard rename(temporary, endpointPath) == 0 else {
            throw CoordinatorError.dataDirectory("cannot write \(endpointPath): errno \(errno)")
        }
    }

    public func endpoint() throws -> Endpoint {
        guard let data = FileManager.default.contents(atPath: endpointPath) else {
            throw CoordinatorError.dataDirectory("no coordinator.json in \(path): start fleet-coordinator first")
        }
        return try JSONDecoder().decode(Endpoint.self, from: data)
    }

    /// Writes a secret file readable by its owner only.
    static func writeSecret(_ data: Data, to path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: data, attributes: [.posixPermissions: 0o600])
        else {
            throw CoordinatorError.dataDirectory("cannot write \(path)")
        }
    }
}
