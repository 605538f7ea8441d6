import ArgumentParser
import FleetCommandLine
import FleetCoordinator
import FleetStorePostgres
import FleetWire
import Foundation
import Logging
import NIOCore
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#endif

@main
struct FleetCoordinatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fleet-coordinator",
        abstract: "Serve a TinyFleet device fleet: the device link over TCP, state in SQLite or PostgreSQL.",
        discussion: """
            The data directory (created on first start) holds coordinator.sqlite (unless --database names a \
            PostgreSQL database), admin.key (the fleetctl credential, mode 0600), the keys and model files, and \
            coordinator.json (the address fleetctl --data-dir connects to).
            Stops gracefully on SIGTERM or SIGINT.
            """,
        version: TinyFleetVersion.current
    )

    @Option(help: "Directory for the SQLite state and keys.")
    var dataDir: String

    @Option(
        help: """
            Keep the fleet's state in PostgreSQL instead of the data directory's SQLite file: \
            postgres://USER@HOST:PORT/DB[?sslmode=disable|require] (TLS is required off loopback unless disabled). \
            The password never goes in the URL: --database-password-file, or the environment variable \
            TINYFLEET_DATABASE_PASSWORD.
            """
    )
    var database: String?

    @Option(help: "File holding the PostgreSQL password (mode 0600 or 0400, owned by this user), for --database.")
    var databasePasswordFile: String?

    @Option(
        help: """
            Keep model files, uploads and prepared payloads here instead of the data directory: with --database, a \
            directory every coordinator of the fleet shares (e.g. NFS). Give the same one at every start.
            """
    )
    var blobDir: String?

    @Option(help: "Address to listen on, HOST:PORT (port 0 picks a free one).")
    var listen: String = "127.0.0.1:7420"

    @Option(help: "Heartbeat interval announced to devices, e.g. 10s, 500ms.")
    var heartbeatInterval: String = "10s"

    @Option(help: "A device silent this long is marked offline (default: 3 heartbeat intervals).")
    var offlineTimeout: String?

    @Option(
        help: """
            How long this coordinator's claim on a round job or on stepping rollouts lasts without renewal (it \
            renews every third); with several coordinators on one database, another one takes over after it.
            """
    )
    var leaseDuration: String = "15s"

    @Option(help: "Largest frame accepted after the handshake, in bytes.")
    var maxFrame: Int = 1 << 20

    @Option(help: "PEM certificate chain for TLS 1.3 on the device link.")
    var tlsCert: String?

    @Option(help: "PEM private key for --tls-cert.")
    var tlsKey: String?

    @Flag(help: "Allow plaintext on a non-loopback address.")
    var insecure = false

    @Option(help: "Limit each model transfer to this many bytes per second (e.g. 64KiB), for constrained links.")
    var transferRateLimit: String?

    @Option(help: "Payload bytes per transfer chunk.")
    var transferChunkSize: Int = 64 * 1024

    @Option(help: "Model versions kept beyond those devices still run; older ones are pruned (0 keeps all).")
    var keepVersions: Int = 10

    @Option(
        help: """
            In federated rounds, each device's weight (its reported sample count) is at most this multiple of the \
            round's median sample count (0: no cap).
            """
    )
    var maxSampleWeight: Double = 4

    @Option(help: "A connection not welcomed this long after it was accepted is closed (error 105), e.g. 10s.")
    var handshakeTimeout: String = "10s"

    @Option(help: "Connections still in their handshake (not yet welcomed), at most; more are answered busy.")
    var maxHandshakes: Int = 1024

    @Option(help: "Bytes those connections may have sent together before welcome (e.g. 16MiB); more is answered busy.")
    var maxHandshakeBytes: String = "16MiB"

    @Option(help: "The wait announced to a client answered busy, e.g. 1s.")
    var busyRetryAfter: String = "1s"

    @Option(help: "Refused handshakes allowed per source address per minute; then its connections are answered busy.")
    var refusalsPerMinute: Int = 20

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    @Option(
        help: "Serve the operator's HTTP endpoints (GET /metrics, Prometheus text format) on HOST:PORT (loopback only)."
    )
    var httpListen: String?

    @Option(help: "Log format on standard error: text, or json (one JSON object a line, for log shippers).")
    var logFormat: LogFormat = .text

    func validate() throws {
        if (tlsCert == nil) != (tlsKey == nil) { throw ValidationError("--tls-cert and --tls-key go together") }
        if databasePasswordFile != nil && database == nil {
            throw ValidationError("--database-password-file needs --database postgres://USER@HOST:PORT/DB")
        }
    }

    func run() async throws {
        let (host, port) = try parseListen(listen)
        let heartbeat = try CommandLineValues.duration(heartbeatInterval)
        var configuration = CoordinatorConfiguration(
            dataDirectory: dataDir,
            host: host,
            port: port,
            heartbeatInterval: heartbeat,
            offlineTimeout: try offlineTimeout.map(CommandLineValues.duration),
            maximumFrameLength: maxFrame,
            insecure: insecure
        )
        configuration.transferChunkSize = max(1024, transferChunkSize)
        configuration.keepVersions = max(0, keepVersions)
        configuration.leaseDuration = try CommandLineValues.duration(leaseDuration)
        configuration.maximumSampleWeight = maxSampleWeight
        configuration.handshakeTimeout = try CommandLineValues.duration(handshakeTimeout)
        configuration.maximumHandshakingConnections = maxHandshakes
        guard let handshakeBytes = try? CommandLineValues.byteCount(maxHandshakeBytes), handshakeBytes <= Int.max
        else { throw ValidationError("--max-handshake-bytes takes a size, e.g. 16MiB") }
        configuration.maximumHandshakeBytes = Int(handshakeBytes)
        configuration.busyRetryAfter = try CommandLineValues.duration(busyRetryAfter)
        configuration.refusalsPerSource = refusalsPerMinute
        if let transferRateLimit {
            guard let bytes = try? CommandLineValues.byteCount(transferRateLimit), bytes > 0 else {
                throw ValidationError("--transfer-rate-limit takes a size per second, e.g. 64KiB")
            }
            configuration.transferRateLimit = Int(bytes)
        }
        if let httpListen {
            let (httpHost, httpPort) = try parseListen(httpListen, flag: "--http-listen")
            configuration.httpListen = .init(host: httpHost, port: httpPort)
        }
        if let tlsCert, let tlsKey {
            configuration.tls = .init(certificatePath: tlsCert, privateKeyPath: tlsKey)
        }
        configuration.blobDirectory = blobDir.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        if let database {
            let url: PostgresDatabaseURL
            do { url = try PostgresDatabaseURL(parsing: database) } catch {
                throw ValidationError("--database: \(error)")
            }
            do {
                configuration.database = .postgres(
                    url,
                    password: try PostgresPassword.resolve(file: databasePasswordFile),
                    passwordFile: databasePasswordFile.map(PostgresPassword.recordedPath)
                )
            } catch {
                throw CommandFailure("\(error)")
            }
        }
        do {
            try configuration.validate()
        } catch {
            throw ValidationError("\(error)")
        }
        LogOutput.bootstrap(format: logFormat, level: logLevel)
        let logger = Logger(label: "fleet-coordinator")
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: CoordinatorService(configuration: configuration, logger: logger))],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        do {
            try await group.run()
        } catch let error as IOError where [EADDRINUSE, EADDRNOTAVAIL, EACCES].contains(error.errnoCode) {
            throw CommandFailure(Self.cannotListen(on: listen, error))
        }
    }

    /// What a failed bind means for the operator: which address, why, and what to do.
    static func cannotListen(on address: String, _ error: IOError) -> String {
        switch error.errnoCode {
        case EADDRINUSE:
            return "cannot listen on \(address): address already in use (another fleet-coordinator, or another "
                + "program, holds the port): stop it, or choose another port with --listen HOST:PORT"
        case EADDRNOTAVAIL:
            return "cannot listen on \(address): no network interface of this machine has that address; "
                + "use one of its addresses, or 0.0.0.0:PORT for all"
        default:
            return "cannot listen on \(address): permission denied (ports below 1024 need privileges); "
                + "choose a port above 1023 with --listen HOST:PORT"
        }
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

func parseListen(_ text: String, flag: String = "--listen") throws -> (String, Int) {
    guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
        (0..<65536).contains(port)
    else { throw ValidationError("\(flag) must be HOST:PORT, got \(text)") }
    var host = String(text[..<colon])
    if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
    return (host.isEmpty ? "0.0.0.0" : host, port)
}
