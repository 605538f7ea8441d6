import FleetClient
import FleetWire
import Foundation

/// Everything `fleet-agent` needs to run. Built by the executable from its flags.
public struct AgentConfiguration: Sendable {
    public var dataDirectory: String
    /// The coordinators (`--coordinator a:7420,b:7420`), tried in turn; when nil, the list saved at the last start
    /// that gave one is used.
    public var coordinators: CoordinatorList?
    public var token: String?
    public var name: String?
    public var labels: [String: String]
    /// Overrides or additions to the detected capabilities (e.g. `ram=50331648`, `accelerator=npu`).
    public var capabilityOverrides: [String: String]
    public var tls: ClientTLSConfiguration?
    public var insecure: Bool
    public var backoff: Backoff
    public var software: String
    /// Local training rows (CSV: features, then `label`) for federated rounds; nil: the device declines training.
    public var trainingData: String?
    /// An external trainer (see the README, "Trainer plug-in"), used instead of the built-in one.
    public var trainerCommand: String?
    /// How long `trainerCommand` may run for one task before it is killed and the task declined.
    public var trainerTimeout: Duration = .seconds(600)
    /// How often drift summaries are sent (the reporting window).
    public var reportInterval: Duration = .seconds(3600)
    /// How often health summaries are sent when something was counted (SPEC 5.41).
    public var healthInterval: Duration = .seconds(5)
    /// The local Unix-domain socket for applications on the device (`Protocol/LOCAL.md`); default DATA_DIR/agent.sock.
    public var localSocketPath: String?
    /// How long protected models stay usable after the coordinator was last reachable (`Protocol/AT-REST.md`).
    public var offlineLease: Duration = .seconds(24 * 3600)
    /// `--offload-busy N`: with `offload: auto`, a local-socket inference that finds N local inferences in flight
    /// runs on the coordinator (SPEC 15a.6); 0: never busy (`auto` offloads only a model not installed here).
    public var offloadBusy = 0
    /// Who may use the local socket (checked with SO_PEERCRED); empty: the agent's own user only.
    public var localAccess = LocalAccessPolicy()
    /// With `--leaf-listen HOST:PORT`: the agent is also a gateway for leaves (microcontrollers running
    /// FleetTinyKit, or `fleet-tiny-sim`) that connect there over TCP; nil: no gateway.
    public var leafListen: CoordinatorAddress?
    /// With `--leaf-serial PATH` (repeatable): the agent is also a gateway for one leaf on each of these serial
    /// lines (UARTs), at ``leafSerialBaud``.
    public var leafSerial: [String] = []
    /// `--baud`: the rate of every `--leaf-serial` line.
    public var leafSerialBaud = 115200

    public static let version = TinyFleetVersion.current

    public init(
        dataDirectory: String,
        coordinators: CoordinatorList? = nil,
        token: String? = nil,
        name: String? = nil,
        labels: [String: String] = [:],
        capabilityOverrides: [String: String] = [:],
        tls: ClientTLSConfiguration? = nil,
        insecure: Bool = false,
        backoff: Backoff = Backoff()
    ) {
        self.dataDirectory = dataDirectory
        self.coordinators = coordinators
        self.token = token
        self.name = name
        self.labels = labels
        self.capabilityOverrides = capabilityOverrides
        self.tls = tls
        self.insecure = insecure
        self.backoff = backoff
        self.software = "fleet-agent/\(Self.version)"
    }

    public var databasePath: String { dataDirectory + "/agent.sqlite" }
}

/// Why the agent stopped or cannot start.
public struct AgentError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
