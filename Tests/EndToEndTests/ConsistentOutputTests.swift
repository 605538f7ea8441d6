import Foundation
import Testing

/// One way of saying each thing across commands: ISO 8601 dates in every `--json`, sizes as KiB/MiB in every
/// table with typed numbers beside the capability strings, devices by id or name, names in the event log, and
/// `infer` output that has a header and scores labelled rows.
extension EndToEnd {
    @Suite(.serialized) struct ConsistentOutputTests {
        static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        static let model = fixtures.appendingPathComponent("FleetDeltaTests/Fixtures/digits-mlp-v1-fp32.safetensors")
            .path
        static let digits = fixtures.appendingPathComponent("FleetObserveTests/Fixtures/digits.csv").path

        struct Device: Decodable {
            var id: String
            var name: String
            var capabilities: [String: String]
            var ramBytes: UInt64?
            var cores: Int?
        }

        struct Event: Decodable {
            var device: String?
            var deviceName: String?
            var kind: String
        }

        struct Transfer: Decodable {
            var deviceID: String
            var startedAt: String
            var completedAt: String
        }

        struct Inference: Decodable {
            var predictions: [Int]
            var accuracy: Double?
            var labelledRows: Int?
        }

        @Test func datesSizesNamesAndInferenceSpeakOneLanguage() async throws {
            let fleet = try Fleet("consistent")
            defer { fleet.cleanUp() }
            try await fleet.startCoordinator()
            let token = try await fleet.createToken(uses: 2)
            try fleet.startAgent("cam-1", token: token.token, extra: ["--capability", "ram=48MiB"])
            try fleet.startAgent("cam-2", token: token.token)
            #expect(
                try await eventually(timeout: .seconds(20)) { try await fleet.onlineNames() == ["cam-1", "cam-2"] }
            )
            let data = fleet.coordinatorDirectory
            _ = try await fleet.fleetctl([
                "model", "push", "digits-mlp", "--data-dir", data, "--version", "1", "--variant", "fp32", "--file",
                Self.model, "--min-ram", "32MiB",
            ])
            let installed = try await eventually(timeout: .seconds(30)) {
                let transfers = try await JSONDecoder().decode(
                    [Transfer].self,
                    from: Data(fleet.fleetctl(["transfers", "--data-dir", data, "--json"]).utf8)
                )
                return transfers.count == 2
            }
            try #require(installed, "both devices installed v1: \(fleet.summary)")

            // Dates: ISO 8601 strings, not seconds since 2001.
            let transfers = try await JSONDecoder().decode(
                [Transfer].self,
                from: Data(fleet.fleetctl(["transfers", "--data-dir", data, "--json"]).utf8)
            )
            for transfer in transfers {
                #expect(ISO8601DateFormatter().date(from: transfer.startedAt) != nil, "\(transfer.startedAt)")
                #expect(ISO8601DateFormatter().date(from: transfer.completedAt) != nil, "\(transfer.completedAt)")
            }

            // Sizes: typed numbers in JSON beside the strings kept for compatibility; MiB for people.
            let camOne = try await JSONDecoder().decode(
                Device.self,
                from: Data(fleet.fleetctl(["device", "show", "cam-1", "--data-dir", data, "--json"]).utf8)
            )
            #expect(camOne.capabilities["ram"] == "50331648" && camOne.ramBytes == 50_331_648)
            #expect(camOne.cores != nil && camOne.cores.map(String.init) == camOne.capabilities["cores"])
            let detail = try await fleet.fleetctl(["device", "show", "cam-1", "--data-dir", data])
            #expect(detail.contains("ram=48.0 MiB") && !detail.contains("50331648"), "\(detail)")
            let model = try await fleet.fleetctl(["model", "show", "digits-mlp", "--data-dir", data])
            #expect(model.contains("min-ram=32.0 MiB") && !model.contains("33554432"), "\(model)")

            // Devices by name wherever a device is named; names in the event log.
            let byName = try await JSONDecoder().decode(
                [Event].self,
                from: Data(fleet.fleetctl(["events", "--device", "cam-1", "--data-dir", data, "--json"]).utf8)
            )
            #expect(!byName.isEmpty && byName.allSatisfy { $0.device == camOne.id && $0.deviceName == "cam-1" })
            let byTransferName = try await JSONDecoder().decode(
                [Transfer].self,
                from: Data(fleet.fleetctl(["transfers", "--device", "cam-1", "--data-dir", data, "--json"]).utf8)
            )
            #expect(byTransferName.map(\.deviceID) == [camOne.id])
            let unknown = try await runCommand("fleetctl", ["events", "--device", "cam-9", "--data-dir", data])
            #expect(unknown.status == 1 && unknown.stderr.contains("no device \"cam-9\""), "\(unknown)")
            let table = try await fleet.fleetctl(["events", "--device", "cam-1", "--data-dir", data])
            let tableRows = table.split(separator: "\n").dropFirst()
            #expect(!tableRows.isEmpty && tableRows.allSatisfy { $0.contains("cam-1") }, "\(table)")

            // A limited event log says so on stderr and stays a top-level array; --limit 0 gives all.
            let limited = try await runCommand("fleetctl", ["events", "--limit", "2", "--data-dir", data, "--json"])
            #expect(try JSONDecoder().decode([Event].self, from: Data(limited.stdout.utf8)).count == 2)
            #expect(limited.stderr.contains("older events left out"), "\(limited.stderr)")
            let all = try await runCommand("fleetctl", ["events", "--limit", "0", "--data-dir", data, "--json"])
            let count = try JSONDecoder().decode([Event].self, from: Data(all.stdout.utf8)).count
            #expect(count > 2 && all.stderr.isEmpty, "\(count) events: \(all.stderr)")

            // infer: a header, and the accuracy on labelled rows.
            let rows = try String(contentsOfFile: Self.digits, encoding: .utf8).split(separator: "\n")
            let header = ((0..<64).map { "p\($0)" } + ["label"]).joined(separator: ",")
            let labelled = rows.dropFirst().prefix(50).map {
                $0.split(separator: ",").prefix(65).joined(separator: ",")
            }
            let csv = fleet.root + "/labelled.csv"
            try ([header] + labelled).joined(separator: "\n").write(toFile: csv, atomically: true, encoding: .utf8)
            let agentData = fleet.root + "/agent-cam-1"
            let human = try await runCommand("fleet-agent", ["infer", csv, "--data-dir", agentData])
            #expect(human.status == 0, "\(human)")
            #expect(human.stdout.hasPrefix("ROW\tPREDICTION\tCONFIDENCE\tLABEL\n"), "\(human.stdout.prefix(200))")
            #expect(human.stdout.contains("accuracy 0.") || human.stdout.contains("accuracy 1."), "\(human.stdout)")
            let json = try await runCommand("fleet-agent", ["infer", csv, "--data-dir", agentData, "--json"])
            let inference = try JSONDecoder().decode(Inference.self, from: Data(json.stdout.utf8))
            #expect(inference.labelledRows == 50)
            let accuracy = try #require(inference.accuracy)
            #expect(accuracy > 0.8, "the digits model on digits rows: \(accuracy)")
            await fleet.stopAll()
        }

        struct TokenRow: Decodable {
            var id: String
            var usesLeft: Int
            var state: String
        }

        @Test func tokensAreListedWithoutSecretsAndCanBeRevoked() async throws {
            let fleet = try Fleet("tokens")
            defer { fleet.cleanUp() }
            try await fleet.startCoordinator()
            let data = fleet.coordinatorDirectory
            let token = try await fleet.createToken(uses: 3)
            func list() async throws -> [TokenRow] {
                try await JSONDecoder().decode(
                    [TokenRow].self,
                    from: Data(fleet.fleetctl(["token", "list", "--data-dir", data, "--json"]).utf8)
                )
            }
            let tokens = try await list()
            #expect(tokens.map(\.id) == [token.id] && tokens.first?.state == "usable")
            #expect(
                !(try await fleet.fleetctl(["token", "list", "--data-dir", data])).contains(token.token),
                "no secret shown"
            )

            _ = try await fleet.fleetctl(["token", "revoke", token.id, "--data-dir", data])
            await #expect(try list().first.map { $0.usesLeft == 0 && $0.state == "used" } == true)
            let agent = try fleet.startAgent("late", token: token.token)
            let status = await agent.waitForExit(timeout: .seconds(20))
            #expect(status == 1 && agent.log.contains("token-used"), "\(agent.log)")
            #expect(try await fleet.devices().isEmpty)
            #expect(try await fleet.events().contains { $0.kind == "token_revoked" && $0.detail == token.id })

            let unknown = try await runCommand("fleetctl", ["token", "revoke", "t-00000000", "--data-dir", data])
            #expect(unknown.status == 1 && unknown.stderr.contains("no token t-00000000"), "\(unknown)")
            await fleet.stopAll()
        }
    }
}
