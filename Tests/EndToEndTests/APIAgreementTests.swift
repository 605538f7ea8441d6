import Foundation
import Testing

/// `fleetctl … --json` and the HTTP admin API must agree (issue 13): on one fleet with two agents in two regions,
/// a model pushed with reference statistics, inferences (drift), consent, held samples and a federated round, every
/// list the API serves, read page by page, equals what fleetctl prints. The one thing normalised away is the
/// pagination: the API's pages (one item each, following `Link`) are concatenated (a list whose cursor is a
/// sequence number, `transfers`, may end with one empty page).
extension EndToEnd {
    @Suite(.serialized) struct APIAgreementTests {
        typealias API = AdminAPITests

        /// Every item of a list endpoint, `limit=1` at a time, following the `Link` header.
        static func allPages(_ address: String, _ path: String, token: String) async throws -> (Any, pages: Int) {
            var items: [Any] = []
            var pages = 0
            var next: String? = path + (path.contains("?") ? "&" : "?") + "limit=1"
            while let current = next, pages < 100 {
                let reply = try await API.get(address, current, token: token)
                try #require(reply.status == 200, "\(current): \(reply.status) \(reply.errorMessage)")
                items += try #require(reply.json as? [Any], "\(current): a JSON array")
                pages += 1
                next = reply.next
            }
            return (items, pages)
        }

        static func canonical(_ object: Any) throws -> String {
            String(
                decoding: try JSONSerialization.data(
                    withJSONObject: object,
                    options: [.sortedKeys, .fragmentsAllowed]
                ),
                as: UTF8.self
            )
        }

        @Test func fleetctlAndTheAPIAgreeOnEveryList() async throws {
            try await Fleet("api-agreement").run(scenario)
        }

        /// A fleet for the API: a coordinator with `--http-listen`, agents `eu-1` and `us-1` (regions eu and us) that
        /// hold digits training rows and grant training, drift statistics and samples, running digits-mlp v1 (fp32,
        /// pushed with reference statistics). Returns the HTTP listener's address.
        static func startTrainingFleet(_ fleet: Fleet) async throws -> String {
            try FederatedRoundsTests.splitDigits(into: fleet.root)
            fleet.extraCoordinatorArguments = ["--http-listen", "127.0.0.1:0"]
            try await fleet.startCoordinator()
            let address = try PrometheusScrape.coordinatorAddress(fleet)
            let agents = ["eu-1": "eu", "us-1": "us"]
            for (index, (name, region)) in agents.sorted(by: { $0.key < $1.key }).enumerated() {
                let token = try await fleet.createToken(uses: 1, labels: ["region=\(region)"])
                try fleet.startAgent(
                    name,
                    token: token.token,
                    extra: [
                        "--train-data", "\(fleet.root)/client-\(index).csv", "--report-interval", "1s",
                        "--log-level", "warning",
                    ]
                )
            }
            let online = try await eventually(timeout: .seconds(30)) { try await fleet.onlineNames().count == 2 }
            try #require(online, "both agents online: \(fleet.summary)")
            let directory = { (name: String) in fleet.root + "/agent-\(name)" }
            for name in agents.keys {
                for purpose in ["training", "drift-stats", "samples"] {
                    let granted = try await runCommand(
                        "fleet-agent",
                        ["consent", "grant", purpose, "--data-dir", directory(name)]
                    )
                    #expect(granted.status == 0, "\(name) \(purpose): \(granted.stderr)")
                }
            }
            _ = try await fleet.fleetctl([
                "model", "push", "digits-mlp", "--data-dir", fleet.coordinatorDirectory, "--version", "1",
                "--variant", "fp32", "--file", ObservabilityTests.model, "--metadata", "feature-scale=auto",
                "--reference-data",
                "\(fleet.root)/client-0.csv",
            ])
            let installed = try await eventually(timeout: .seconds(30)) {
                await fleet.installedVersions(of: "digits-mlp").filter { $0 == 1 }.count == 2
            }
            try #require(installed, "both agents run digits-mlp v1: \(fleet.summary)")
            return address
        }

        /// On a fleet from ``startTrainingFleet(_:)``: each agent infers on the held-out rows (drift reports) and
        /// queues them as samples; then one federated round runs (`fleetctl round start --wait`) and ends, with two
        /// participants: published, or held back with its reason when its evaluation falls below v1's (what the
        /// system guarantees). The two shards are label-skewed (client 0: 27 of its 38 rows are nines; client 1: 30
        /// of 43 are zeros and sixes) and each device shuffles with a seed from its id, new at every enrolment, so
        /// some runs' fine-tune drifts far enough to be held back, as it should: CI run 57 saw it at 46 % against
        /// v1's 97 %. Either way the round is history the API must serve.
        /// The round fine-tunes a trained v1 with plain FedAvg: the default server optimiser (FedAdam, 0.05) moves
        /// every coordinate whose update exceeds its τ by about 0.05 in its first step, which can wreck a converged
        /// model; CI run 35 saw such a round held back at 27 % test accuracy, and this test needs a published v2.
        static func makeHistory(_ fleet: Fleet) async throws {
            let agents = ["eu-1", "us-1"]
            let directory = { (name: String) in fleet.root + "/agent-\(name)" }
            let test = "\(fleet.root)/test.csv"
            for name in agents {
                let inferred = try await runCommand(
                    "fleet-agent",
                    ["infer", "--data-dir", directory(name), test, "--json"]
                )
                #expect(inferred.status == 0, "\(name): \(inferred.stderr)")
                let added = try await runCommand(
                    "fleet-agent",
                    ["samples", "add", "--data-dir", directory(name), test]
                )
                #expect(added.status == 0, "\(name): \(added.stderr)")
            }
            let round = try await runCommand(
                "fleetctl",
                [
                    "round", "start", "digits-mlp", "--data-dir", fleet.coordinatorDirectory, "--clients", "2",
                    "--min-clients", "2", "--lr", "0.01", "--local-epochs", "2", "--strategy", "fedavg",
                    "--eval-data", test, "--wait",
                    "--json",
                ]
            )
            #expect(
                round.status == 0 || round.stderr.contains("held back: test accuracy"),
                "the round ended published or held back: \(round.stderr)"
            )
        }

        func scenario(_ fleet: Fleet) async throws {
            let address = try await Self.startTrainingFleet(fleet)
            try await Self.makeHistory(fleet)
            let token = try await API.apiToken(fleet, scope: "read").token
            let data = ["--data-dir", fleet.coordinatorDirectory, "--json"]
            // Each list: the fleetctl command and the API path that must agree with it.
            let lists: [(command: [String], path: String)] = [
                (["devices"], "/api/v1/devices"),
                (["transfers"], "/api/v1/transfers"),
                (["rounds", "digits-mlp"], "/api/v1/rounds?model=digits-mlp"),
                (["drift", "digits-mlp"], "/api/v1/drift?model=digits-mlp"),
                (["drift", "digits-mlp", "--by", "region"], "/api/v1/drift?model=digits-mlp&by=region"),
                (["drift", "digits-mlp", "--by", "fleet"], "/api/v1/drift?model=digits-mlp&by=fleet"),
                (["consent"], "/api/v1/consent"),
                (["consent", "--device", "eu-1"], "/api/v1/consent?device=eu-1"),
                (["samples"], "/api/v1/samples"),
            ]
            // lastSeen, drift and held samples move while agents report: compare until one read of all agrees.
            var differences: [String] = []
            var sizes: [String: Int] = [:]
            let agreed = try await eventually(timeout: .seconds(30), every: .milliseconds(300)) {
                differences = []
                for (command, path) in lists {
                    let cli = try JSONSerialization.jsonObject(
                        with: Data(try await fleet.fleetctl(command + data).utf8)
                    )
                    let (api, pages) = try await Self.allPages(address, path, token: token)
                    let count = (cli as? [Any])?.count ?? -1
                    sizes[path] = count
                    if try Self.canonical(api) != Self.canonical(cli) || !(max(count, 1)...count + 1).contains(pages) {
                        differences.append(
                            "\(path) (\(pages) pages):\n api \(try Self.canonical(api))\n cli \(try Self.canonical(cli))"
                        )
                    }
                }
                for (command, path) in [(["models"], "/api/v1/models"), (["round", "show", "1"], "/api/v1/rounds/1")] {
                    let cli = try JSONSerialization.jsonObject(
                        with: Data(try await fleet.fleetctl(command + data).utf8)
                    )
                    let reply = try await API.get(address, path, token: token)
                    let api = try reply.json.map(Self.canonical)
                    if try reply.status != 200 || api != Self.canonical(cli) {
                        differences.append("\(path): \(reply.status) \(String(decoding: reply.body, as: UTF8.self))")
                    }
                }
                return differences.isEmpty
            }
            #expect(agreed, "\(differences.joined(separator: "\n"))")
            // Nothing compared was empty: each list holds what the scenario made.
            #expect(sizes["/api/v1/devices"] == 2 && sizes["/api/v1/consent"] == 2 && sizes["/api/v1/samples"] == 2)
            #expect(sizes["/api/v1/rounds?model=digits-mlp"] == 1 && sizes["/api/v1/drift?model=digits-mlp"] == 2)
            #expect(sizes["/api/v1/drift?model=digits-mlp&by=region"] == 2, "\(sizes)")
            #expect((sizes["/api/v1/transfers"] ?? 0) >= 2, "\(sizes)")
            let shown = try await API.get(address, "/api/v1/rounds/1", token: token)
            let shownRound = (shown.json as? [String: Any])?["round"] as? [String: Any]
            #expect(
                ["published", "failed"].contains(shownRound?["status"] as? String),
                "\(String(decoding: shown.body, as: UTF8.self))"
            )
            #expect(shownRound?["testAccuracy"] as? Double != nil, "the round's accuracy is served")
            #expect(((shown.json as? [String: Any])?["participants"] as? [Any])?.count == 2)
            let missing = try await API.get(address, "/api/v1/rounds/99", token: token)
            #expect(missing.status == 404 && missing.errorMessage.contains("/api/v1/rounds"), "\(missing.errorMessage)")
            let noDevice = try await API.get(address, "/api/v1/consent?device=nope", token: token)
            #expect(noDevice.status == 404, "\(noDevice.errorMessage)")
            let noModel = try await API.get(address, "/api/v1/drift", token: token)
            #expect(noModel.status == 400 && noModel.errorMessage.contains("model"), "\(noModel.errorMessage)")
            let noReference = try await API.get(address, "/api/v1/drift?model=other", token: token)
            #expect(noReference.status == 404 && noReference.errorMessage.contains("--reference-data"))
        }
    }
}
