import FleetTrust
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
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
    /// Where the state is when it is not in `coordinator.sqlite`: a PostgreSQL database (``DatabaseRecord``).
    public var databaseRecordPath: String { path + "/database.json" }
    /// Where model files are kept when they are not in this directory (``claimBlobDirectory(_:)``).
    public var blobDirectoryRecordPath: String { path + "/blob-directory.json" }
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
        /// `HOST:PORT` of the operator's HTTP listener (`/metrics`), when it runs.
        public var http: String?
        public init(host: String, port: Int, tls: Bool, certificatePath: String?, pid: Int32, http: String? = nil) {
            self.host = host
            self.port = port
            self.tls = tls
            self.certificatePath = certificatePath
            self.pid = pid
            self.http = http
        }
    }

    /// Creates the directory with mode 0700, or tightens an existing one to 0700 (as systemd's
    /// `StateDirectory=` creates it 0755). Returns the wider mode it had, for the log.
    @discardableResult
    public func create() throws -> mode_t? {
        do throws(TrustError) {
            return try PrivateFiles.prepareDirectory(path)
        } catch {
            throw CoordinatorError.dataDirectory(error.detail)
        }
    }

    /// Loads the admin credential, creating it (mode 0600 from its first byte) on first start.
    public func loadOrCreateAdminCredential() throws -> AdminCredential {
        do throws(TrustError) {
            return try AdminCredentialFile.loadOrCreate(path: adminKeyPath)
        } catch {
            throw CoordinatorError.dataDirectory(error.detail)
        }
    }

    /// Reads the admin credential (for `fleetctl`); refuses one that group or others may read.
    public func adminCredential() throws -> AdminCredential {
        let credential: AdminCredential?
        do throws(TrustError) {
            credential = try AdminCredentialFile.load(path: adminKeyPath)
        } catch {
            throw CoordinatorError.dataDirectory(error.detail)
        }
        guard let credential else {
            throw CoordinatorError.dataDirectory("no admin.key in \(path): has a coordinator run here?")
        }
        return credential
    }

    public func writeEndpoint(_ endpoint: Endpoint) throws {
        try writeJSON(endpoint, to: endpointPath)
    }

    /// The PostgreSQL database a coordinator with `--database` keeps this directory's state in, for `fleetctl`:
    /// its URL (never a password) and the password file it was given, if any.
    public struct DatabaseRecord: Codable, Sendable, Equatable {
        public var url: String
        public var passwordFile: String?
        public init(url: String, passwordFile: String?) {
            self.url = url
            self.passwordFile = passwordFile
        }
    }

    /// The record of a coordinator on PostgreSQL, or nil for one on `coordinator.sqlite`.
    public func databaseRecord() throws -> DatabaseRecord? {
        guard let data = FileManager.default.contents(atPath: databaseRecordPath) else { return nil }
        do {
            return try JSONDecoder().decode(DatabaseRecord.self, from: data)
        } catch {
            throw CoordinatorError.dataDirectory("\(databaseRecordPath) is not a database record: \(error)")
        }
    }

    /// Checks that the state this start asks for is where this directory's state already is, then records it: a
    /// directory whose state is in `coordinator.sqlite` is not silently started on PostgreSQL (a second, empty
    /// fleet), nor the other way round.
    public func claimDatabase(_ record: DatabaseRecord?) throws {
        let hasSQLite = FileManager.default.fileExists(atPath: databasePath)
        let recorded = try databaseRecord()
        switch (record, recorded) {
        case (nil, nil):
            return
        case (nil, let recorded?):
            throw CoordinatorError.dataDirectory(
                "\(path) keeps its state in PostgreSQL (\(recorded.url)): start fleet-coordinator with --database "
                    + "\(recorded.url), or use another --data-dir for a fleet on SQLite"
            )
        case (let record?, _) where hasSQLite:
            throw CoordinatorError.dataDirectory(
                "\(path) keeps its state in coordinator.sqlite: stop the coordinator and move that state with "
                    + "fleetctl migrate --from \(path) --to \(record.url), or use another --data-dir for a new fleet"
            )
        case (let record?, let recorded?) where recorded.url != record.url:
            throw CoordinatorError.dataDirectory(
                "\(path) keeps its state in \(recorded.url), not \(record.url): start with --database "
                    + "\(recorded.url), or use another --data-dir"
            )
        case (let record?, _):
            try writeJSON(record, to: databaseRecordPath)
        }
    }

    private struct BlobDirectoryRecord: Codable {
        var path: String
    }

    /// The directory model files (`blobs/`, `uploads/`, `payloads/`) are kept in, given `--blob-dir` (`requested`,
    /// absolute) or not: a directory given once is recorded, and a later start without the flag uses it, so a
    /// restart cannot lose the fleet's model files by forgetting it. Refused: another directory than the one
    /// recorded, and a first `--blob-dir` for a directory that already keeps model files itself (they would be left
    /// behind).
    public func claimBlobDirectory(_ requested: String?) throws -> String {
        let recorded: String?
        if let data = FileManager.default.contents(atPath: blobDirectoryRecordPath) {
            do {
                recorded = try JSONDecoder().decode(BlobDirectoryRecord.self, from: data).path
            } catch {
                throw CoordinatorError.dataDirectory(
                    "\(blobDirectoryRecordPath) is not a blob directory record: \(error)"
                )
            }
        } else {
            recorded = nil
        }
        switch (requested, recorded) {
        case (nil, nil):
            return path
        case (nil, let recorded?):
            return recorded
        case (let requested?, let recorded?) where requested != recorded:
            throw CoordinatorError.dataDirectory(
                "\(path) keeps its model files in \(recorded), not \(requested): start with --blob-dir \(recorded) "
                    + "(or without --blob-dir), or move the files and edit \(blobDirectoryRecordPath)"
            )
        case (let requested?, _?):
            return requested
        case (let requested?, nil) where requested == path:
            return path
        case (let requested?, nil):
            if Self.holdsFiles(path + "/blobs") {
                throw CoordinatorError.dataDirectory(
                    "\(path)/blobs holds this fleet's model files: move blobs/, uploads/ and payloads/ from \(path) "
                        + "into \(requested) first, then start with --blob-dir \(requested)"
                )
            }
            try writeJSON(BlobDirectoryRecord(path: requested), to: blobDirectoryRecordPath)
            return requested
        }
    }

    /// Writes `value` as JSON to `path` through a temporary file and a rename, so a reader never sees half of it.
    private func writeJSON(_ value: some Encodable, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let temporary = path + ".tmp"
        try encoder.encode(value).write(to: URL(fileURLWithPath: temporary))
        guard rename(temporary, path) == 0 else {
            throw CoordinatorError.dataDirectory("cannot write \(path): errno \(errno)")
        }
    }

    /// Whether the tree under `directory` holds a regular file.
    private static func holdsFiles(_ directory: String) -> Bool {
        guard let walk = FileManager.default.enumerator(atPath: directory) else { return false }
        while let entry = walk.nextObject() as? String {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: directory + "/" + entry, isDirectory: &isDirectory),
                !isDirectory.boolValue
            {
                return true
            }
        }
        return false
    }

    public func endpoint() throws -> Endpoint {
        guard let data = FileManager.default.contents(atPath: endpointPath) else {
            throw CoordinatorError.dataDirectory("no coordinator.json in \(path): start fleet-coordinator first")
        }
        return try JSONDecoder().decode(Endpoint.self, from: data)
    }
}
