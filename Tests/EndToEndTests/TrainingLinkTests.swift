import Foundation
import Testing

/// Training beside the link, with real processes: a trainer plug-in that takes longer than the coordinator's
/// offline timeout (3 s here, heartbeats every 300 ms) leaves its device online and its update counts; a plug-in
/// that outlives `--trainer-timeout` is killed with everything it started, and the round goes on without it.
extension EndToEnd {
    @Suite(.serialized) struct TrainingLinkTests {
        struct Round: Decodable {
            var status: String
            var participants: Int
        }

        struct RoundDetail: Decodable {
            struct Participant: Decodable {
                var device: String
                var status: String
                var metrics: [String: String]
            }
            var participants: [Participant]
        }

        @Test func slowTrainingKeepsTheDeviceOnlineAndATrainerPastItsTimeoutIsKilled() async throws {
            let fleet = try Fleet("training-link")
            defer { fleet.cleanUp() }
            // Ten missed heartbeats before a device counts as offline: a loaded test machine cannot fake it.
            fleet.extraCoordinatorArguments = ["--offline-timeout", "3s"]
            try FederatedRoundsTests.splitDigits(into: fleet.root)
            try await fleet.startCoordinator()
            let token = try await fleet.createToken(uses: 2)
            // client-0 trains honestly with the built-in trainer, after sleeping 7 s: over twice the offline timeout.
            let agent = Binaries.path("fleet-agent")
            let slow =
                "sleep 7 && '\(agent)' train --model-in \"$TINYFLEET_MODEL_IN\" --model-out \"$TINYFLEET_MODEL_OUT\""
                + " --data \"$TINYFLEET_DATA\" --epochs \"$TINYFLEET_EPOCHS\" --seed \"$TINYFLEET_SEED\""
            try fleet.startAgent(
                "client-0",
                token: token.token,
                extra: fleet.digitsAgentArguments(0) + ["--trainer-command", slow]
            )
            // client-1's trainer never ends: the shell and the child it started record their process ids.
            let shellPID = fleet.root + "/stuck-shell.pid"
            let childPID = fleet.root + "/stuck-child.pid"
            let stuck = "echo $$ > '\(shellPID)'; sleep 600 & echo $! > '\(childPID)'; wait"
            try fleet.startAgent(
                "client-1",
                token: token.token,
                extra: fleet.digitsAgentArguments(1) + ["--trainer-command", stuck, "--trainer-timeout", "2s"]
            )
            #expect(try await eventually(timeout: .seconds(60)) { try await fleet.onlineNames().count == 2 })
            try await fleet.grantTraining(0..<2)
            try await fleet.initDigitsModel("digits-mlp")
            #expect(
                try await eventually(timeout: .seconds(60)) {
                    await fleet.installedVersions(of: "digits-mlp").filter { $0 == 1 }.count == 2
                },
                "both agents run v1"
            )
            let ids = Dictionary(uniqueKeysWithValues: try await fleet.devices().map { ($0.name, $0.id) })
            let slowID = try #require(ids["client-0"])
            let stuckID = try #require(ids["client-1"])
            let eventsBefore = try await fleet.events().map(\.sequence).max() ?? 0

            let output = try await fleet.fleetctl([
                "round", "start", "digits-mlp", "--data-dir", fleet.coordinatorDirectory, "--clients", "2",
                "--min-clients", "1", "--deadline", "60s", "--eval-data", "\(fleet.root)/test.csv", "--wait", "--json",
            ])
            let rounds = try JSONDecoder().decode([Round].self, from: Data(output.utf8))
            #expect(rounds.count == 1 && rounds.first?.status == "published", "\(output)")
            #expect(rounds.first?.participants == 1, "client-0's update was aggregated")

            let detail = try JSONDecoder().decode(
                RoundDetail.self,
                from: Data(
                    try await fleet.fleetctl([
                        "round", "show", "1", "--data-dir", fleet.coordinatorDirectory, "--json",
                    ]).utf8
                )
            )
            let byDevice = Dictionary(uniqueKeysWithValues: detail.participants.map { ($0.device, $0) })
            #expect(byDevice[slowID]?.status == "updated")
            #expect(byDevice[stuckID]?.status == "declined")
            #expect(byDevice[stuckID]?.metrics["declined"]?.contains("--trainer-timeout") == true, "\(detail)")

            // Neither device went offline while training: heartbeats kept flowing.
            let offline = try await fleet.events().filter { $0.sequence > eventsBefore && $0.kind == "offline" }
            #expect(offline.isEmpty, "\(offline.map { "\($0.device ?? "") \($0.detail)" })")
            #expect(try await fleet.onlineNames() == ["client-0", "client-1"], "\(fleet.summary)")

            // The stuck trainer and the process it started are gone.
            for path in [shellPID, childPID] {
                let text = try String(contentsOfFile: path, encoding: .utf8)
                let pid = try #require(Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)))
                let gone = try await eventually(timeout: .seconds(10)) { Self.hasEnded(pid) }
                #expect(gone, "process \(pid) from \(path) was killed")
            }
            await fleet.stopAll()
        }

        /// The process is gone, or a zombie (dead, waiting for a parent that may never reap it in a container).
        static func hasEnded(_ pid: Int32) -> Bool {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return true }
            // "PID (COMMAND) STATE ...": the state follows the last parenthesis.
            guard let close = stat.lastIndex(of: ")") else { return false }
            return stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
        }
    }
}
