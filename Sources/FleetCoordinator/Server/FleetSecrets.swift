import FleetStore
import FleetTrust
import Logging

/// With `--database`, the secrets every coordinator of a fleet must share live in the database, which is then the
/// fleet's root of trust (README "Several coordinators"): the admin credential (`admin.key`, from which `fleetctl`
/// and API tokens are derived), the release signing key (`release.key`, which agents pin at enrolment) and the
/// at-rest master secret (`model-protection.key`, from which devices' model keys are derived). Each coordinator's
/// data directory keeps a copy, mode 0600, so `fleetctl --data-dir` works at any of them.
///
/// At start, per secret: the first coordinator on an empty database stores the directory's (creating it first if
/// need be); a later one with an empty directory gets the database's; a directory whose secret differs from the
/// database's belongs to another fleet and is refused. Two coordinators starting at once on an empty database agree
/// on the first one stored.
enum FleetSecrets {
    struct Secret {
        let name: String
        let path: String
        let holding: String
        /// Creates the file at `path` the way a coordinator on SQLite does.
        let create: (String) throws(TrustError) -> Void
    }

    static let size = 32

    static func secrets(of directory: CoordinatorDataDirectory) -> [Secret] {
        [
            Secret(name: "admin", path: directory.adminKeyPath, holding: "the admin credential") {
                (path: String) throws(TrustError) in _ = try AdminCredentialFile.loadOrCreate(path: path)
            },
            Secret(name: "release", path: directory.releaseKeyPath, holding: "the release signing key") {
                (path: String) throws(TrustError) in _ = try ReleaseKeyFile.loadOrCreate(path: path)
            },
            Secret(
                name: "model-protection",
                path: directory.modelProtectionKeyPath,
                holding: "the at-rest master secret"
            ) {
                (path: String) throws(TrustError) in _ = try MasterSecretFile.loadOrCreate(path: path)
            },
        ]
    }

    /// Makes the data directory's secret files and the database's secrets the same, as described above.
    static func reconcile(
        _ directory: CoordinatorDataDirectory,
        store: CoordinatorStore,
        database: String,
        logger: Logger
    ) async throws {
        for secret in secrets(of: directory) {
            let local = try load(secret)
            switch (local, try await store.fleetSecret(named: secret.name)) {
            case (let local?, let shared?):
                guard local == shared else { throw refusal(secret, directory: directory, database: database) }
            case (nil, let shared?):
                try write(shared, secret)
                logger.info(
                    "loaded the fleet's secret from the database",
                    metadata: ["secret": "\(secret.name)", "file": "\(secret.path)"]
                )
            case (let local?, nil):
                let stored = try await store.storeFleetSecretIfAbsent(named: secret.name, value: local)
                guard stored == local else { throw refusal(secret, directory: directory, database: database) }
                logger.notice(
                    "stored the fleet's secret in the database for the other coordinators",
                    metadata: ["secret": "\(secret.name)", "file": "\(secret.path)"]
                )
            case (nil, nil):
                do throws(TrustError) {
                    try secret.create(secret.path)
                } catch {
                    throw CoordinatorError.dataDirectory(error.detail)
                }
                guard let created = try load(secret) else {
                    throw CoordinatorError.dataDirectory("\(secret.path) was not created")
                }
                let stored = try await store.storeFleetSecretIfAbsent(named: secret.name, value: created)
                // Another coordinator started on the same empty database stored its secret first: use that one.
                if stored != created { try write(stored, secret) }
            }
        }
    }

    private static func load(_ secret: Secret) throws -> [UInt8]? {
        do throws(TrustError) {
            return try SecretFile.load(path: secret.path, size: size, holding: secret.holding)
        } catch {
            throw CoordinatorError.dataDirectory(error.detail)
        }
    }

    private static func write(_ bytes: [UInt8], _ secret: Secret) throws {
        guard bytes.count == size else {
            throw CoordinatorError.dataDirectory(
                "the database holds \(secret.holding) of \(bytes.count) bytes, not \(size): it is damaged"
            )
        }
        do throws(TrustError) {
            try SecretFile.replace(bytes, at: secret.path)
        } catch {
            throw CoordinatorError.dataDirectory(error.detail)
        }
    }

    private static func refusal(
        _ secret: Secret,
        directory: CoordinatorDataDirectory,
        database: String
    ) -> CoordinatorError {
        .dataDirectory(
            "\(secret.path) holds another \(secret.holding) than the fleet in \(database): this data directory "
                + "belongs to another fleet. To join the fleet in the database, start with an empty --data-dir (its "
                + "secrets are loaded from the database); to keep this directory's fleet, give its own --database."
        )
    }
}
