import ArgumentParser
import FleetClient
import FleetCommandLine
import FleetControl
import FleetWire
import Foundation

@main
struct FleetCtl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fleetctl",
        abstract: "Inspect and drive a TinyFleet fleet.",
        discussion: """
            On the coordinator's host, --data-dir DIR is enough: fleetctl reads the address and admin credential \
            there, and inspection commands read the SQLite state directly (also while the coordinator is down). \
            Elsewhere: --coordinator HOST:PORT --admin-key FILE [--ca-file PEM].
            """,
        version: TinyFleetVersion.current,
        subcommands: [
            Demo.self, Token.self, APIToken.self, Devices.self, Device.self, Events.self, Models.self, Model.self,
            Transfers.self, Round.self, Rounds.self, Rollout.self, Rollouts.self,
            Delta.self, Consent.self, Samples.self, Drift.self, Quota.self, Quotas.self, Usage.self, Migrate.self,
        ]
    )

    /// Shared options may precede the command (`fleetctl --data-dir D devices`); see ``ArgumentOrder``.
    static func main() async {
        let arguments: [String]
        do {
            arguments = try ArgumentOrder.arrange(Array(CommandLine.arguments.dropFirst()), root: Self.self)
        } catch {
            exit(withError: error)
        }
        await main(arguments)
    }
}

/// Where the coordinator is; shared by every command.
struct TargetOptions: ParsableArguments {
    @Option(help: "The coordinator's data directory (on its host).")
    var dataDir: String?

    @Option(help: "The coordinator's address, HOST:PORT.")
    var coordinator: String?

    @Option(help: "The admin credential file (the coordinator's DATA_DIR/admin.key).")
    var adminKey: String?

    @Option(help: "PEM file with the CA or the coordinator's certificate, for TLS.")
    var caFile: String?

    @Option(help: "Host name to verify in the coordinator's certificate.")
    var tlsServerName: String?

    func validate() throws {
        if dataDir == nil && coordinator == nil {
            throw ValidationError(
                "say where the coordinator is: --data-dir DIR, or --coordinator HOST:PORT --admin-key FILE"
            )
        }
    }

    func inspector() throws -> FleetInspector {
        FleetInspector(
            target: CoordinatorTarget(
                dataDirectory: coordinator == nil ? dataDir : nil,
                address: try coordinator.map { try CoordinatorAddress(parsing: $0) },
                adminKeyPath: adminKey ?? dataDir.map { $0 + "/admin.key" },
                tls: caFile.map { ClientTLSConfiguration(trustedCertificatesPath: $0, serverHostname: tlsServerName) }
            )
        )
    }
}

struct OutputOptions: ParsableArguments {
    @Flag(help: "Print JSON for scripts.")
    var json = false
}

func emit<T: Encodable>(_ value: T, json: Bool, human: (T) -> String) throws {
    print(json ? try Output.json(value) : human(value))
}

/// A line for people on stderr (stdout stays what scripts parse).
func warn(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

extension FleetCtl {
    struct Demo: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a throwaway local coordinator with several agents and show the fleet."
        )

        @Option(help: "How many agents to start.")
        var agents = 3

        @Option(help: "Where to keep the demo's state (default: a new temporary directory).")
        var dataDir: String?

        func run() async throws {
            let directory =
                dataDir
                ?? FileManager.default.temporaryDirectory
                .appendingPathComponent("tinyfleet-demo-\(ProcessInfo.processInfo.processIdentifier)").path
            try await FleetDemo(agents: agents, dataDirectory: directory, print: { Swift.print($0) }).run()
        }
    }

    struct Token: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Manage enrolment tokens.",
            subcommands: [Create.self, List.self, Revoke.self]
        )

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "List enrolment tokens (ids, uses left, expiry; never the secrets)."
            )
            @OptionGroup var target: TargetOptions
            @OptionGroup var output: OutputOptions

            func run() async throws {
                try emit(try await target.inspector().tokens(), json: output.json) { tokens in
                    Table(
                        headers: ["ID", "STATE", "USES LEFT", "EXPIRES", "CREATED", "LABELS"],
                        rows: tokens.map {
                            [
                                $0.id, $0.state, "\($0.usesLeft)/\($0.uses)", $0.expiresAt ?? "never", $0.createdAt,
                                $0.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(
                                    separator: ","
                                ),
                            ]
                        }
                    ).render()
                }
            }
        }

        struct Revoke: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Revoke an enrolment token: no device can enrol with it any more.",
                discussion: "Devices already enrolled with it are not affected."
            )
            @OptionGroup var target: TargetOptions
            @Argument(help: "The token's id (t-…, from `fleetctl token list`).") var id: String

            func run() async throws {
                try await target.inspector().revokeToken(id: id)
                print("revoked \(id): no device can enrol with it any more")
            }
        }

        struct Create: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Create an enrolment token (single use by default)."
            )

            @OptionGroup var target: TargetOptions
            @OptionGroup var output: OutputOptions

            @Option(help: "How many devices may enrol with it.")
            var uses = 1

            @Option(help: "Lifetime, e.g. 24h, 30m (default: never expires).")
            var expires: String?

            @Option(help: "A label KEY=VALUE given to every device enrolled with it (repeatable).")
            var label: [String] = []

            func validate() throws {
                guard uses >= 1 else { throw ValidationError("--uses must be at least 1") }
            }

            func run() async throws {
                let token = try await target.inspector().createToken(
                    uses: uses,
                    expiresIn: try expires.map(CommandLineValues.duration),
                    labels: try CommandLineValues.pairs(label, option: "--label")
                )
                try emit(token, json: output.json) { token in
                    """
                    \(token.token)
                    id \(token.id), \(token.uses) use(s), expires \(token.expiresAt ?? "never")
                    Enrol a device with: fleet-agent --data-dir DIR --coordinator HOST:PORT --token \(token.token)
                    """
                }
            }
        }
    }

    struct Devices: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List devices with their status.")
        @OptionGroup var target: TargetOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let (devices, unreachable) = try await target.inspector().deviceList()
            try emit(devices, json: output.json, human: Output.devicesTable)
            if let unreachable {
                warn(Output.staleNotice(asOf: devices.first?.statusAsOf, reason: unreachable))
            }
        }
    }

    struct Device: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show or remove one device.",
            subcommands: [Show.self, Remove.self]
        )

        struct Show: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Show a device's state, labels and capabilities.")
            @OptionGroup var target: TargetOptions
            @OptionGroup var output: OutputOptions
            @Argument(help: "Device id or name.") var id: String

            func run() async throws {
                let device = try await target.inspector().device(id: id)
                try emit(device, json: output.json, human: Output.deviceDetail)
                if device.statusAsOf != nil { warn(Output.staleNotice(asOf: device.statusAsOf, reason: nil)) }
            }
        }

        struct Remove: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Remove a device: revoke its key and drop it from the fleet.",
                discussion: """
                    The device can no longer authenticate (its agent stops and says so) nor enrol again with its key.                     With --erase the coordinator also erases what it holds of it: samples, drift reports, consent                     records, assignments, pins, transfers, round participation and events (for a device that is gone).
                    """
            )
            @OptionGroup var target: TargetOptions
            @OptionGroup var output: OutputOptions
            @Argument(help: "Device id or name.") var id: String
            @Flag(help: "Also erase everything the coordinator holds of the device.") var erase = false

            func run() async throws {
                try emit(try await target.inspector().removeDevice(id, erase: erase), json: output.json) { removal in
                    removal.erased
                        ? "removed \(removal.name) (\(removal.device)) and erased \(removal.sampleRows) sample(s), "
                            + "\(removal.driftReports) drift report(s), \(removal.consentRecords) consent record(s), "
                            + "\(removal.otherRows) other row(s)"
                        : "removed \(removal.name) (\(removal.device)); its key is revoked (add --erase to erase its data)"
                }
            }
        }
    }

    struct Events: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the coordinator's event log.")
        @OptionGroup var target: TargetOptions
        @OptionGroup var output: OutputOptions
        @Option(help: "Only this device's events (id or name).") var device: String?
        @Option(help: "How many of the newest events (0: all).") var limit = 100

        func validate() throws {
            guard limit >= 0 else { throw ValidationError("--limit takes a count, or 0 for all events") }
        }

        func run() async throws {
            let page = try await target.inspector().eventLog(device: device, limit: limit)
            try emit(page.events, json: output.json, human: Output.eventsTable)
            if page.olderLeftOut {
                warn("fleetctl: older events left out (the newest \(limit) shown): --limit N shows more, --limit 0 all")
            }
        }
    }
}
