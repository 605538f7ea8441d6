import Foundation
import Testing

/// Errors that say what happened and what to do, seen as a user sees them: the real executables' exit status and
/// stderr (or log), with the coordinator in the state that causes each.
extension EndToEnd {
    @Suite(.serialized) struct ErrorMessageTests {
        @Test func plaintextClientsOfATLSCoordinatorAreToldToPassCAFile() async throws {
            let fleet = try Fleet("speaks-tls")
            defer { fleet.cleanUp() }
            let (certificate, key) = try makeSelfSignedCertificate(in: fleet.root)
            fleet.extraCoordinatorArguments = ["--tls-cert", certificate, "--tls-key", key]
            try await fleet.startCoordinator()
            let token = try await fleet.createToken()

            let fleetctl = try await runCommand(
                "fleetctl",
                [
                    "devices", "--coordinator", "127.0.0.1:\(fleet.port)", "--admin-key",
                    fleet.coordinatorDirectory + "/admin.key",
                ]
            )
            #expect(fleetctl.status == 1, "\(fleetctl)")
            #expect(fleetctl.stderr.contains("speaks TLS: pass --ca-file"), "\(fleetctl.stderr)")
            #expect(!fleetctl.stderr.contains("exceeds the maximum"), "\(fleetctl.stderr)")

            let agent = try fleet.startAgent("no-ca", token: token.token)
            let told = try await eventually(timeout: .seconds(20)) { agent.log.contains("speaks TLS: pass --ca-file") }
            #expect(told, "agent log: \(agent.log)")
            #expect(!agent.log.contains("exceeds the maximum"))
            await fleet.stopAll()
        }

        @Test func nothingListeningIsReportedWithTheAddressAndTheAgentWarns() async throws {
            let fleet = try Fleet("refused")
            defer { fleet.cleanUp() }
            try await fleet.startCoordinator()
            let token = try await fleet.createToken()
            let port = fleet.port
            await fleet.coordinator?.terminate()

            let fleetctl = try await runCommand(
                "fleetctl",
                ["token", "create", "--data-dir", fleet.coordinatorDirectory]
            )
            #expect(fleetctl.status == 1)
            #expect(
                fleetctl.stderr.contains(
                    "cannot reach the coordinator at 127.0.0.1:\(port): connection refused; is fleet-coordinator running"
                ),
                "\(fleetctl.stderr)"
            )

            // The agent retries: the first failures at info, then warnings that give the reason.
            let agent = try fleet.startAgent("lonely", token: token.token)
            let warned = try await eventually(timeout: .seconds(30)) {
                agent.log.split(separator: "\n").contains {
                    $0.contains("warning") && $0.contains("connection refused")
                }
            }
            #expect(warned, "agent log: \(agent.log)")
            let lines = agent.log.split(separator: "\n")
            #expect(lines.contains { $0.contains("info") && $0.contains("reconnecting") }, "\(agent.log)")
            #expect(agent.isRunning, "the agent keeps retrying")
            await fleet.stopAll()
        }

        @Test func aPortInUseNamesTheAddressAndExitsWithoutUsage() async throws {
            let fleet = try Fleet("port-in-use")
            defer { fleet.cleanUp() }
            try await fleet.startCoordinator()
            let second = try await runCommand(
                "fleet-coordinator",
                ["--data-dir", fleet.root + "/second", "--listen", "127.0.0.1:\(fleet.port)"]
            )
            #expect(second.status == 1, "\(second)")
            #expect(
                second.stderr.contains("cannot listen on 127.0.0.1:\(fleet.port): address already in use"),
                "\(second.stderr)"
            )
            #expect(!second.stderr.contains("Usage:"))
            await fleet.stopAll()
        }

        @Test func aMissingDataDirectoryIsNamedWithoutInternalTypes() async throws {
            let missing = "/nonexistent-\(UUID().uuidString.prefix(6))"
            for command in [["devices"], ["events"], ["models"], ["token", "create"]] {
                let result = try await runCommand("fleetctl", command + ["--data-dir", missing])
                #expect(result.status == 1, "\(command): \(result)")
                #expect(
                    result.stderr.contains("no directory \(missing): --data-dir is the directory"),
                    "\(result.stderr)"
                )
                #expect(!result.stderr.contains("StoreError") && !result.stderr.contains("CoordinatorError"))
            }
            let empty = try makeTemporaryDirectory("not-a-coordinator")
            defer { try? FileManager.default.removeItem(atPath: empty) }
            let result = try await runCommand("fleetctl", ["devices", "--data-dir", empty])
            #expect(result.stderr.contains("holds no coordinator state"), "\(result.stderr)")
        }

        @Test func commandsAreCheckedBeforeOptionsAndSharedOptionsMayComeFirst() async throws {
            let fleet = try Fleet("arguments")
            defer { fleet.cleanUp() }
            try await fleet.startCoordinator()

            let unknown = try await runCommand("fleetctl", ["devicez", "--data-dir", fleet.coordinatorDirectory])
            #expect(unknown.status == 64, "a usage error: \(unknown)")
            #expect(unknown.stderr.contains("unknown command \"devicez\""), "\(unknown.stderr)")
            #expect(!unknown.stderr.contains("--data-dir"), "not reported as an unknown option: \(unknown.stderr)")
            let nested = try await runCommand(
                "fleetctl",
                ["model", "pinn", "x", "--data-dir", fleet.coordinatorDirectory]
            )
            #expect(nested.status == 64 && nested.stderr.contains("unknown command \"pinn\""), "\(nested.stderr)")

            let before = try await runCommand(
                "fleetctl",
                ["--data-dir", fleet.coordinatorDirectory, "--json", "devices"]
            )
            #expect(before.status == 0, "\(before)")
            #expect(try JSONDecoder().decode([Fleet.Device].self, from: Data(before.stdout.utf8)).isEmpty)
            let token = try await runCommand(
                "fleetctl",
                ["--data-dir=\(fleet.coordinatorDirectory)", "token", "create"]
            )
            #expect(token.status == 0 && token.stdout.hasPrefix("tft_"), "\(token)")
            await fleet.stopAll()
        }

        @Test func runtimeFailuresOfTheAgentExitOneWithoutUsage() async throws {
            let directory = try makeTemporaryDirectory("agent-no-coordinator")
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let result = try await runCommand("fleet-agent", ["--data-dir", directory])
            #expect(result.status == 1, "\(result)")
            #expect(result.stderr.contains("no coordinator address: pass --coordinator HOST:PORT"), "\(result.stderr)")
            #expect(!result.stderr.contains("Usage:"), "\(result.stderr)")
            // A real usage error still exits 64 with the usage.
            let usage = try await runCommand("fleet-agent", ["--data-dir", directory, "--no-such-flag"])
            #expect(usage.status == 64 && usage.stderr.contains("Usage:"), "\(usage)")
        }
    }
}
