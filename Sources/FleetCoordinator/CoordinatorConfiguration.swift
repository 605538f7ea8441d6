import FleetLearning
import FleetStorePostgres
import FleetWire
import Foundation
import NIOCore

/// Everything `fleet-coordinator` needs to run. Built by the executable from its flags.
public struct CoordinatorConfiguration: Sendable {
    public var dataDirectory: String
    public var host: String
    /// 0 picks a free port; the chosen one is written to `coordinator.json` in the data directory.
    public var port: Int
    public var heartbeatInterval: Duration
    /// Announced in the handshake; a device silent this long is marked offline.
    public var offlineTimeout: Duration
    public var handshakeTimeout: Duration
    /// How often coalesced presence is written to SQLite.
    public var flushInterval: Duration
    public var maximumFrameLength: Int
    public var tls: TLSFiles?
    /// Allows plaintext on a non-loopback address.
    public var insecure: Bool
    /// Payload bytes per transfer chunk (capped by the connection's frame limit).
    public var transferChunkSize: Int = 64 * 1024
    /// Bytes per second per model transfer; nil for no limit (for constrained uplinks, and for tests).
    public var transferRateLimit: Int?
    /// Versions kept per model beyond those devices still run; older ones are pruned (0 keeps everything).
    public var keepVersions: Int = 10
    /// In rounds, each device's sample-count weight is at most this multiple of the round's median (0: no cap).
    public var maximumSampleWeight: Double = SampleWeightCap.default.medianMultiple
    /// Connections accepted but not yet welcomed, at most; beyond it new connections are answered `busy`.
    public var maximumHandshakingConnections = 1024
    /// Bytes all connections not yet welcomed may have sent together; a read beyond it is answered `busy`.
    public var maximumHandshakeBytes = 16 << 20
    /// The wait announced in `busy`.
    public var busyRetryAfter: Duration = .seconds(1)
    /// Refused handshakes per source address: coalesced events and the rate limit (Protocol/SPEC.md, 6.7).
    public var refusalsPerSource: Int {
        get { refusals.allowedPerWindow }
        set { refusals.allowedPerWindow = newValue }
    }
    var refusals = RefusalLedger.Settings()
    /// The operator's HTTP listener (`GET /metrics`); nil for none. Port 0 picks a free one (in `coordinator.json`).
    public var httpListen: HTTPAddress?
    /// Where the fleet's state lives: `coordinator.sqlite` in the data directory, or a PostgreSQL database. Keys,
    /// model files and `coordinator.json` stay in the data directory either way.
    public var database: Database = .sqlite
    /// `--blob-dir`: where model files, uploads and prepared payloads live instead of the data directory, e.g. a
    /// directory every coordinator of a fleet shares (README "Several coordinators"); nil: the data directory.
    public var blobDirectory: String?
    /// `--lease-duration`: how long a coordinator's claim on work one coordinator at a time must do (a round job)
    /// lasts without renewal; another coordinator of the fleet takes over after it (README "Several coordinators").
    public var leaseDuration: Duration = .seconds(15)

    public enum Database: Sendable {
        case sqlite
        /// `fleet-coordinator --database postgres://USER@HOST:PORT/DB`, with the password resolved by
        /// ``PostgresPassword`` (a private file or the environment; nil for trust or peer authentication). The file's
        /// path (not the password) is recorded in the data directory for `fleetctl`.
        case postgres(PostgresDatabaseURL, password: String?, passwordFile: String?)
    }

    public struct HTTPAddress: Sendable, Equatable {
        public var host: String
        public var port: Int
        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }
    }

    public struct TLSFiles: Sendable {
        public var certificatePath: String
        public var privateKeyPath: String
        public init(certificatePath: String, privateKeyPath: String) {
            self.certificatePath = certificatePath
            self.privateKeyPath = privateKeyPath
        }
    }

    public init(
        dataDirectory: String,
        host: String = "127.0.0.1",
        port: Int = 7420,
        heartbeatInterval: Duration = .seconds(10),
        offlineTimeout: Duration? = nil,
        handshakeTimeout: Duration = .seconds(10),
        flushInterval: Duration = .seconds(1),
        maximumFrameLength: Int = 1 << 20,
        tls: TLSFiles? = nil,
        insecure: Bool = false
    ) {
        self.dataDirectory = dataDirectory
        self.host = host
        self.port = port
        self.heartbeatInterval = heartbeatInterval
        self.offlineTimeout = offlineTimeout ?? heartbeatInterval * 3
        self.handshakeTimeout = handshakeTimeout
        self.flushInterval = flushInterval
        self.maximumFrameLength = maximumFrameLength
        self.tls = tls
        self.insecure = insecure
    }

    /// Refuses plaintext on a reachable address unless `insecure` is set.
    public func validate() throws {
        if tls == nil && !insecure && !Self.isLoopback(host) {
            throw CoordinatorError.plaintextNotAllowed(host: host)
        }
        guard maximumFrameLength >= 4096 && maximumFrameLength <= 16 << 20 else {
            throw CoordinatorError.invalidConfiguration("--max-frame must be between 4 KiB and 16 MiB")
        }
        guard handshakeTimeout > .zero && handshakeTimeout <= .seconds(3600) else {
            throw CoordinatorError.invalidConfiguration("--handshake-timeout must be between 1 ms and 1 hour")
        }
        guard leaseDuration >= .seconds(3) && leaseDuration <= .seconds(3600) else {
            throw CoordinatorError.invalidConfiguration("--lease-duration must be between 3 s and 1 hour")
        }
        guard maximumHandshakingConnections >= 1 else {
            throw CoordinatorError.invalidConfiguration("--max-handshakes must be at least 1")
        }
        guard maximumHandshakeBytes >= 2 * (Frame.handshakeMaximumLength + Frame.lengthPrefixSize) else {
            throw CoordinatorError.invalidConfiguration("--max-handshake-bytes must be at least 128 KiB + 8 bytes")
        }
        guard refusals.allowedPerWindow >= 1 else {
            throw CoordinatorError.invalidConfiguration("--refusals-per-minute must be at least 1")
        }
        guard busyRetryAfter >= .zero && busyRetryAfter <= .seconds(3600) else {
            throw CoordinatorError.invalidConfiguration("--busy-retry-after must be between 0 and 1 hour")
        }
        guard offlineTimeout > heartbeatInterval else {
            throw CoordinatorError.invalidConfiguration("--offline-timeout must be longer than --heartbeat-interval")
        }
        if let httpListen, !Self.isLoopback(httpListen.host), tls == nil {
            throw CoordinatorError.invalidConfiguration(
                "--http-listen \(httpListen.host): a listener off loopback serves HTTPS only: add --tls-cert FILE "
                    + "--tls-key FILE (the device link's certificate, also used by the HTTP listener), or listen on "
                    + "127.0.0.1"
            )
        }
        do {
            _ = try SampleWeightCap(medianMultiple: maximumSampleWeight)
        } catch {
            throw CoordinatorError.invalidConfiguration("--max-sample-weight: \(error)")
        }
    }

    public static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}

extension Duration {
    var milliseconds: Int {
        let (seconds, attoseconds) = components
        return Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000)
    }

    var timeInterval: TimeInterval { Double(milliseconds) / 1000 }

    var timeAmount: TimeAmount { .milliseconds(Int64(milliseconds)) }
}

/// Why the coordinator could not start or serve.
public struct CoordinatorError: Error, CustomStringConvertible, Sendable {
    public let description: String

    public static func plaintextNotAllowed(host: String) -> Self {
        Self(
            description:
                "refusing plaintext on \(host): give --tls-cert and --tls-key, listen on 127.0.0.1, or pass --insecure"
        )
    }
    public static func invalidConfiguration(_ text: String) -> Self { Self(description: text) }
    public static func dataDirectory(_ text: String) -> Self { Self(description: "data directory: \(text)") }
    public static func tls(_ text: String) -> Self { Self(description: "TLS: \(text)") }
}
