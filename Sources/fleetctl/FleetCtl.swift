import ArgumentParser
import FleetClient
import FleetCommandLine
import FleetControl
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
        subcommands: [
            Demo.self, Token.self, Devices.self, Device.self, Events.self, Models.self, Model.self, Transfers.self,
            Round.self, Rounds.self,
            Delta.self, Consent.self, Samples.self, Drift.self,
        ]
    )
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
            subcommands: [Create.self]
        )

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
            try emit(try await target.inspector().devices(), json: output.json, human: Output.devicesTable)
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
                try emit(try await target.inspector().device(id: id), json: output.json, human: Output.deviceDetail)
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
        @Option(help: "Only this device's events.") var device: String?
        @Option(help: "How many of the newest events.") var limit = 100

        func run() async throws {
            try emit(
                try await target.inspector().events(deviceID: device, limit: limit),
                json: output.json,
                human: Output.eventsTable
            )
        }
    }
}
