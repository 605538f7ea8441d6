import ArgumentParser
import FleetAgent
import FleetClient
import FleetCommandLine
import FleetWire
import Logging
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#endif

@main
struct FleetAgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fleet-agent",
        abstract: "The TinyFleet agent for an edge box: enrols once, then stays in sync with the coordinator.",
        version: TinyFleetVersion.current,
        subcommands: [Run.self, Status.self, Consent.self, Infer.self, Samples.self, Drift.self, Train.self],
        defaultSubcommand: Run.self
    )
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the agent daemon (the default command).",
        discussion: """
            First start: fleet-agent --data-dir DIR --coordinator HOST:PORT --token TOKEN [--name NAME] [--label K=V ...]
            Later starts need only --data-dir: the identity key, device id and coordinator address(es) are kept \
            in DIR/agent.sqlite. The agent works offline and reconnects with exponential backoff and jitter, to the \
            next coordinator of the list when --coordinator names several.
            """
    )

    @Option(help: "Directory for the agent's SQLite state and identity key.")
    var dataDir: String

    @Option(
        help: """
            The coordinator, HOST:PORT, or several coordinators on one database, HOST:PORT,HOST:PORT,… (tried in \
            turn: a failed or ended session moves to the next). Saved; a later start without it uses the saved list.
            """
    )
    var coordinator: String?

    @Option(help: "One-time enrolment token (first start only), from `fleetctl token create`.")
    var token: String?

    @Option(help: "Device name shown in fleetctl (default: host name).")
    var name: String?

    @Option(help: "A label KEY=VALUE asked for at enrolment, e.g. room=3 (repeatable; region: the token's only).")
    var label: [String] = []

    @Option(help: "Override or add a capability KEY=VALUE, e.g. ram=48MiB, accelerator=npu (repeatable).")
    var capability: [String] = []

    @Option(help: "PEM file with the CA or the coordinator's own certificate, to verify TLS.")
    var caFile: String?

    @Option(help: "Host name to verify in the coordinator's certificate (default: its IP address).")
    var tlsServerName: String?

    @Flag(help: "Allow plaintext to a non-loopback coordinator.")
    var insecure = false

    @Option(help: "Local training rows for federated rounds (CSV: feature columns, then `label`).")
    var trainData: String?

    @Option(help: "External trainer command for federated rounds (see the README, \"Trainer plug-in\").")
    var trainerCommand: String?

    @Option(help: "How long --trainer-command may run for one round before it is killed and the task declined.")
    var trainerTimeout: String = "10m"

    @Option(help: "Drift reporting window, e.g. 1h, 30s.")
    var reportInterval: String = "1h"

    @Option(
        help: "How often health summaries (inference counts, feedback, starts) are sent when there are any, e.g. 5s."
    )
    var healthInterval: String = "5s"

    @Option(help: "Unix-domain socket for applications on the device (default: DATA_DIR/agent.sock).")
    var localSocket: String?

    @Option(help: "How long protected models stay usable after losing the coordinator, e.g. 24h, 30m.")
    var offlineLease: String = "24h"

    @Option(
        help: """
            With infer --offload auto: offload a query to the coordinator while N local inferences are in flight \
            (billed at the grant's cloud price); 0: never busy.
            """
    )
    var offloadBusy: Int = 0

    @Option(help: "A user (name or uid) allowed to use the local socket (repeatable; default: the agent's own user).")
    var localAllowUid: [String] = []

    @Option(help: "A group (name or gid) whose members may use the local socket (repeatable).")
    var localAllowGroup: [String] = []

    @Option(help: "Be a gateway for leaves (microcontrollers, fleet-tiny-sim): listen for them on HOST:PORT (TCP).")
    var leafListen: String?

    @Option(
        help: """
            Be a gateway for one leaf on the serial line at PATH, e.g. /dev/ttyUSB0 (raw 8N1, no flow control; \
            repeatable: one leaf per line).
            """
    )
    var leafSerial: [String] = []

    @Option(help: "The baud rate of every --leaf-serial line: 9600 to 921600.")
    var baud: Int = 115200

    @Option(
        help: """
            Serve the agent's counters for Prometheus at http://HOST:PORT/metrics (loopback only, e.g. \
            127.0.0.1:9420; the local socket's `metrics` op gives the same counters without it).
            """
    )
    var metricsListen: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    @Option(help: "Log format on standard error: text, or json (one JSON object a line, for log shippers).")
    var logFormat: LogFormat = .text

    func run() async throws {
        var configuration = AgentConfiguration(
            dataDirectory: dataDir,
            coordinators: try coordinator.map { try CoordinatorList(parsing: $0) },
            token: token,
            name: name,
            labels: try CommandLineValues.pairs(label, option: "--label"),
            capabilityOverrides: try CommandLineValues.pairs(capability, option: "--capability"),
            insecure: insecure
        )
        if let caFile {
            configuration.tls = ClientTLSConfiguration(trustedCertificatesPath: caFile, serverHostname: tlsServerName)
        }
        configuration.trainingData = trainData
        configuration.trainerCommand = trainerCommand
        configuration.trainerTimeout = try CommandLineValues.duration(trainerTimeout)
        configuration.reportInterval = try CommandLineValues.duration(reportInterval)
        configuration.healthInterval = try CommandLineValues.duration(healthInterval)
        configuration.localSocketPath = localSocket
        guard offloadBusy >= 0 else { throw ValidationError("--offload-busy: a number of inferences, 0 or more") }
        configuration.offloadBusy = offloadBusy
        configuration.leafListen = try leafListen.map { try CoordinatorAddress(parsing: $0) }
        // Each line is opened once now, so that a wrong path, a file that is not a serial device, a denied
        // permission or a baud rate the line cannot take stop the agent with the reason at once.
        for path in leafSerial { close(try SerialPort.open(path: path, baud: baud)) }
        configuration.leafSerial = leafSerial
        configuration.leafSerialBaud = baud
        configuration.offlineLease = try CommandLineValues.duration(offlineLease)
        for user in localAllowUid {
            guard let uid = LocalAccessPolicy.uid(user) else {
                throw ValidationError("--local-allow-uid: no user \(user)")
            }
            configuration.localAccess.allowedUIDs.insert(uid)
        }
        for group in localAllowGroup {
            guard let gid = LocalAccessPolicy.gid(group) else {
                throw ValidationError("--local-allow-group: no group \(group)")
            }
            configuration.localAccess.allowedGIDs.insert(gid)
        }
        let keyring = ModelKeyring(offlineLease: configuration.offlineLease)
        let cloud = CloudLink()
        let metrics = AgentMetrics()
        let usage = UsageSignal()
        LogOutput.bootstrap(format: logFormat, level: logLevel)
        let logger = Logger(label: "fleet-agent")
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(
                service: AgentService(
                    configuration: configuration,
                    keyring: keyring,
                    cloud: cloud,
                    metrics: metrics,
                    usage: usage,
                    logger: logger
                )
            ),
            .init(
                service: LocalSocketService(
                    configuration: configuration,
                    keyring: keyring,
                    cloud: cloud,
                    metrics: metrics,
                    usage: usage,
                    logger: logger
                )
            ),
        ]
        if let metricsListen {
            let address = try CoordinatorAddress(parsing: metricsListen)
            do {
                services.append(
                    .init(service: try AgentMetricsHTTP(address: address, metrics: metrics, logger: logger))
                )
            } catch let error as AgentError {
                throw ValidationError(error.description)
            }
        }
        let group = ServiceGroup(
            configuration: .init(
                services: services,
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        do {
            try await group.run()
        } catch let error as AgentError {
            // A runtime failure (token used, device removed, …), not a usage error: exit 1, no usage text.
            throw CommandFailure(error.description)
        }
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what this device runs, what it should run, and any transfer in progress."
    )

    @Option(help: "The agent's data directory.")
    var dataDir: String

    @Flag(help: "Print JSON for scripts.")
    var json = false

    func run() async throws {
        let status = try await AgentStatus.read(dataDirectory: dataDir)
        print(json ? try status.jsonString() : status.humanReadable())
    }
}
