import Foundation
import Testing

/// The digits federation shared by the federated end-to-end suites: client k's agent holds `client-k.csv`
/// (written by `FederatedRoundsTests.splitDigits`) and is enrolled with the token of region `r(k mod 4)`.
extension Fleet {
    /// Agent arguments for digits client `client`: its rows, quiet logs.
    func digitsAgentArguments(_ client: Int) -> [String] {
        ["--train-data", "\(root)/client-\(client).csv", "--log-level", "warning"]
    }

    /// One enrolment token per region `r0`…`r3`, each for `uses` devices: regions are the administrator's to
    /// set, not the devices'. Client k enrols with `tokens[k % 4]`.
    func digitsRegionTokens(uses: Int) async throws -> [String] {
        var tokens: [String] = []
        for region in 0..<4 { tokens.append(try await createToken(uses: uses, labels: ["region=r\(region)"]).token) }
        return tokens
    }

    /// Clients 0 and 1 of the digits federation on one two-use token; client 1's trainer (`sleep 120`) never
    /// finishes in time, so a round with both stays open until its deadline or its coordinator's end.
    func startClientsWithAStuckTrainer() async throws {
        let token = try await createToken(uses: 2)
        try startAgent("client-0", token: token.token, extra: digitsAgentArguments(0))
        try startAgent(
            "client-1",
            token: token.token,
            extra: digitsAgentArguments(1) + ["--trainer-command", "sleep 120"]
        )
    }

    /// The owner of each client's device grants training consent (`fleet-agent consent grant training`).
    func grantTraining(_ clients: some Sequence<Int>) async throws {
        for client in clients {
            let result = try await runCommand(
                "fleet-agent",
                ["consent", "grant", "training", "--data-dir", "\(root)/agent-client-\(client)"]
            )
            #expect(result.status == 0, "consent grant: \(result.stderr)")
        }
    }

    /// Publishes a freshly initialised 64-64-10 MLP (seed 1, features scaled by 1/16) as `name` v1.
    func initDigitsModel(_ name: String) async throws {
        _ = try await fleetctl([
            "model", "init", name, "--data-dir", coordinatorDirectory, "--layers", "64,64,10", "--seed", "1",
            "--feature-scale", "0.0625",
        ])
    }

    /// The installed version of `model` on each device that runs it (`fleetctl devices --json`).
    func installedVersions(of model: String) async -> [Int] {
        struct Device: Decodable {
            struct Model: Decodable {
                var name: String
                var version: Int
            }
            var installedModels: [Model]
        }
        guard
            let output = try? await fleetctl(["devices", "--data-dir", coordinatorDirectory, "--json"]),
            let devices = try? JSONDecoder().decode([Device].self, from: Data(output.utf8))
        else { return [] }
        return devices.compactMap { $0.installedModels.first { $0.name == model }?.version }
    }
}
