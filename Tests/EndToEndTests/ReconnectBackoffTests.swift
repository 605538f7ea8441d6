import Foundation
import Testing

/// The reconnect storm of a session that fails right after authenticating, every time: the real agent, through a
/// relay that cuts each session before the coordinator's first heartbeatAck, keeps backing off (attempts 2, 3,
/// 4, … with growing delays) instead of starting again from the first attempt after each authentication.
extension EndToEnd {
    @Suite(.serialized) struct ReconnectBackoffTests {
        @Test func sessionsThatFailBeforeUsefulWorkKeepBackingOff() async throws {
            let fleet = try Fleet("reconnect-storm")
            defer { fleet.cleanUp() }
            try await fleet.startCoordinator()
            let token = try await fleet.createToken()
            let relay = try await CuttingRelay()
            let relaying = Task { try await relay.run(coordinatorPort: fleet.port) }
            defer { relaying.cancel() }
            let agent = try FleetProcess(
                "fleet-agent",
                [
                    "--data-dir", fleet.root + "/agent-cut", "--coordinator", "127.0.0.1:\(relay.port)", "--name",
                    "cut",
                    "--token", token.token,
                ],
                logDirectory: fleet.root,
                name: "agent-cut"
            )
            // Four sessions: each authenticated (the device enrolled through the relay), each cut.
            let reconnected = try await eventually(timeout: .seconds(30)) { Self.attempts(agent.log).count >= 4 }
            #expect(reconnected, "\(agent.log)")
            let attempts = Self.attempts(agent.log)
            #expect(Array(attempts.prefix(4)) == [2, 3, 4, 5], "\(agent.log)")
            #expect(try await fleet.devices().map(\.name) == ["cut"], "the sessions authenticated")

            // Over the next 8 s: at most the waits of attempts 6 and 7 (4–8 s and 8–16 s) end, against one
            // reconnect every second or so when each authentication reset the backoff.
            let before = relay.connections
            try await Task.sleep(for: .seconds(8))
            let storm = relay.connections - before
            print("connections through the relay in 8 s after 5 cut sessions: \(storm)")
            #expect(storm <= 2)

            // Waiting out a long backoff does not hold up a stop: SIGTERM ends the wait (the alternative, after
            // 5 s, is SIGKILL).
            await agent.terminate(timeout: .seconds(5))
            #expect(agent.process.terminationReason == .exit && agent.process.terminationStatus == 0)
            await fleet.stopAll()
        }

        /// The `attempt` of each "reconnecting" line of the agent's log, in order.
        static func attempts(_ log: String) -> [Int] {
            log.split(separator: "\n").filter { $0.contains("reconnecting") || $0.contains("retrying") }.compactMap {
                line in
                guard let range = line.range(of: "attempt=") else { return nil }
                return Int(line[range.upperBound...].prefix { $0.isNumber })
            }
        }
    }
}
