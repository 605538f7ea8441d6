import Foundation
import Testing

/// Messages for a device connected to another coordinator (issue 12, item 2): they reach it through the database's
/// outbox. Two real coordinators on one PostgreSQL sharing a `--blob-dir`, a real agent, fleetctl.
extension EndToEnd {
    @Suite(.serialized) struct OutboxRelayTests {
        /// An agent connected to the second coordinator receives, from an administrator on the first, a new model
        /// version (its desired state) and a quota grant, within seconds and without reconnecting.
        @Test func aDeviceOnAnotherCoordinatorGetsItsDesiredStateAndGrantsThroughTheOutbox() async throws {
            let (first, second) = try await Fleet.sharingADatabase("outbox")
            try await first.startCoordinator()
            try await second.startCoordinator()
            try await first.run { first in
                try await second.run { second in
                    let base = RolloutTests()
                    let token = try await first.createToken(uses: 1)
                    let agent = try first.startAgent(
                        "o-1",
                        token: token.token,
                        coordinators: "127.0.0.1:\(second.port)",
                        extra: ["--capability", "ram=48MiB"]
                    )
                    try await expectEventually(timeout: .seconds(60)) {
                        try await first.onlineNames() == ["o-1"]
                    } message: {
                        "the agent is online on the second coordinator: \(first.summary)\n\(agent.log)"
                    }

                    // Pushed through the first coordinator: the device, on the second, is assigned and installs it.
                    let pushed = try await base.push(
                        first,
                        version: 1,
                        variant: "int8",
                        minRam: "32MiB",
                        accuracy: "0.97",
                        held: false
                    )
                    #expect(pushed.assignedDevices == 1)
                    try await expectEventually(timeout: .seconds(30)) {
                        try await base.versions(first) == ["o-1": 1]
                    } message: {
                        "o-1 runs v1: \(await base.describe { try await base.versions(first) })\n\(agent.log)"
                    }

                    // A quota granted through the first coordinator reaches the agent on the second.
                    _ = try await first.fleetctl([
                        "quota", "grant", "o-1", "digits-mlp", "--queries", "5", "--data-dir",
                        first.coordinatorDirectory,
                    ])
                    try await expectEventually(timeout: .seconds(20)) {
                        agent.log.contains("quota granted")
                    } message: {
                        "the agent received the grant: \(agent.log)"
                    }
                    #expect(!agent.log.contains("moving to the next coordinator"), "no reconnection: \(agent.log)")
                }
            }
        }
    }
}
