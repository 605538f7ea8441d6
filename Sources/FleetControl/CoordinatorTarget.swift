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

    /// The coordinator's state, read-only, when a data directory was given: its SQLite file, or the PostgreSQL
    /// database its `database.json` names (the password from the file recorded there, else
    /// `TINYFLEET_DATABASE_PASSWORD`).
    public func localStore() async throws -> CoordinatorStore? {
        guard let dataDirectory else { return nil }
        let directory = CoordinatorDataDirectory(path: dataDirectory)
        if FileManager.default.fileExists(atPath: directory.databasePath) {
            return try CoordinatorStore.openReadOnly(path: directory.databasePath)
        }
        guard let record = try directory.databaseRecord() else { throw Self.noCoordinatorState(in: dataDirectory) }
        return try await PostgresReaders.shared.store(record)
    }

    /// Whether `directory` is where a coordinator has run: its SQLite state, or its record of a PostgreSQL one.
    static func holdsCoordinatorState(_ directory: CoordinatorDataDirectory) -> Bool {
        FileManager.default.fileExists(atPath: directory.databasePath)
            || FileManager.default.fileExists(atPath: directory.databaseRecordPath)
    }

    /// `--data-dir` names no coordinator's state: say which, and what the directory should be.
    static func noCoordinatorState(in directory: String) -> ControlError {
        var isDirectory: ObjCBool = false
        if !FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) || !isDirectory.boolValue {
            return ControlError(
                "no directory \(directory): --data-dir is the directory fleet-coordinator runs with "
                    + "(it holds coordinator.sqlite and coordinator.json)"
            )
        }
        return ControlError(
            "\(directory) holds no coordinator state (no coordinator.sqlite or database.json): --data-dir is the directory "
                + "fleet-coordinator runs with; a new one is set up when fleet-coordinator first starts there"
        )
    }

    /// Runs `body` on an authenticated admin connection.
    public func withAdminConnection<T: Sendable>(_ body: (inout FleetConnection) async throws -> T) async throws -> T {
        let (address, tls) = try resolveAddress()
        let credential = try loadCredential()
        return try await FleetConnection.withConnection(to: address, tls: tls) { connection in
            let accept = try await connection.hello(role: .admin, software: "fleetctl/\(TinyFleetVersion.current)")
            try await connection.authenticateAdmin(credential: credential, nonce: accept.nonce)
            return try await body(&connection)
        }
    }

    private func resolveAddress() throws -> (CoordinatorAddress, ClientTLSConfiguration?) {
        if let address { return (address, tls) }
        guard let dataDirectory else {
            throw ControlError("say where the coordinator is: --data-dir DIR on its host, or --coordinator HOST:PORT")
        }
        let directory = CoordinatorDataDirectory(path: dataDirectory)
        guard Self.holdsCoordinatorState(directory) else { throw Self.noCoordinatorState(in: dataDirectory) }
        let endpoint = try directory.endpoint()
        var tls = self.tls
        if tls == nil, endpoint.tls, let certificate = endpoint.certificatePath {
            tls = ClientTLSConfiguration(trustedCertificatesPath: certificate, verifiesHostname: false)
        }
        return (Self.address(of: endpoint), tls)
    }

    /// Where to connect to the coordinator that wrote `endpoint` (a wildcard listener is reached on loopback).
    private static func address(of endpoint: CoordinatorDataDirectory.Endpoint) -> CoordinatorAddress {
        let host = endpoint.host == "0.0.0.0" ? "127.0.0.1" : (endpoint.host == "::" ? "::1" : endpoint.host)
        return CoordinatorAddress(host: host, port: endpoint.port)
    }

    /// With a data directory: why the coordinator that uses it cannot be reached now (nil when it accepts a
    /// connection at the address in its `coordinator.json`; nothing is sent). Without one: nil.
    public func coordinatorUnreachable() async -> String? {
        guard let dataDirectory else { return nil }
        guard let endpoint = try? CoordinatorDataDirectory(path: dataDirectory).endpoint() else {
            return "no coordinator.json in \(dataDirectory): fleet-coordinator has not run there"
        }
        do {
            try await FleetConnection.withConnection(
                to: Self.address(of: endpoint),
                tls: nil,
                connectTimeout: .seconds(2)
            ) { _ in }
            return nil
        } catch {
            return "\(error)"
        }
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

/// A `fleetctl` failure with a message that says what to do.
public struct ControlError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
