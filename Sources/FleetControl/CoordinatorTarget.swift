import FleetClient
import FleetCoordinator
import FleetStore
import FleetTrust
import FleetWire
import Foundation

/// Where `fleetctl` finds the coordinator: a data directory on the coordinator's host (address, credential and,
/// for inspection, the SQLite file read-only), or a network address plus an admin key file.
public struct CoordinatorTarget: Sendable {
    public var dataDirectory: String?
    public var address: CoordinatorAddress?
    public var adminKeyPath: String?
    public var tls: ClientTLSConfiguration?

    public init(
        dataDirectory: String?,
        address: CoordinatorAddress?,
        adminKeyPath: String?,
        tls: ClientTLSConfiguration?
    ) {
        self.dataDirectory = dataDirectory
        self.address = address
        self.adminKeyPath = adminKeyPath
        self.tls = tls
    }

    /// The local SQLite state, read-only, when a data directory was given.
    public func localStore() throws -> CoordinatorStore? {
        guard let dataDirectory else { return nil }
        return try CoordinatorStore.openReadOnly(path: CoordinatorDataDirectory(path: dataDirectory).databasePath)
    }

    /// Runs `body` on an authenticated admin connection.
    public func withAdminConnection<T: Sendable>(_ body: (inout FleetConnection) async throws -> T) async throws -> T {
        let (address, tls) = try resolveAddress()
        let credential = try loadCredential()
        return try await FleetConnection.withConnection(to: address, tls: tls) { connection in
            let accept = try await connection.hello(role: .admin, software: "fleetctl/\(FleetControlVersion.current)")
            try await connection.authenticateAdmin(credential: credential, nonce: accept.nonce)
            return try await body(&connection)
        }
    }

    private func resolveAddress() throws -> (CoordinatorAddress, ClientTLSConfiguration?) {
        if let address { return (address, tls) }
        guard let dataDirectory else {
            throw ControlError("say where the coordinator is: --data-dir DIR on its host, or --coordinator HOST:PORT")
        }
        let endpoint = try CoordinatorDataDirectory(path: dataDirectory).endpoint()
        let host = endpoint.host == "0.0.0.0" ? "127.0.0.1" : (endpoint.host == "::" ? "::1" : endpoint.host)
        var tls = self.tls
        if tls == nil, endpoint.tls, let certificate = endpoint.certificatePath {
            tls = ClientTLSConfiguration(trustedCertificatesPath: certificate)
        }
        return (CoordinatorAddress(host: host, port: endpoint.port), tls)
    }

    private func loadCredential() throws -> AdminCredential {
        if let adminKeyPath {
            guard let credential = try AdminCredentialFile.load(path: adminKeyPath) else {
                throw ControlError("cannot read admin key \(adminKeyPath): no such file")
            }
            return credential
        }
        guard let dataDirectory else {
            throw ControlError("give --admin-key FILE (the coordinator's DATA_DIR/admin.key) or --data-dir DIR")
        }
        return try CoordinatorDataDirectory(path: dataDirectory).adminCredential()
    }
}

public enum FleetControlVersion {
    public static let current = "0.1.0"
}

/// A `fleetctl` failure with a message that says what to do.
public struct ControlError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
