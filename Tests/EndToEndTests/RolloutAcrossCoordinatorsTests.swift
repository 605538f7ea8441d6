import Foundation
import Testing

/// A staged rollout with two coordinators on one PostgreSQL (issue 12, item 2): one coordinator at a time steps
/// rollouts (the `rollouts` lease), wave assignments reach devices on the other through the outbox, and when the
/// stepping coordinator dies the other carries the rollout on. Real coordinators, agents and fleetctl.
extension EndToEnd {
    @Suite(.serialized) struct RolloutAcrossCoordinatorsTests {
        @Test func theOtherCoordinatorCarriesARolloutOnWhenTheOneSteppingItDies() async throws {
            let (first, second) = try await Fleet.sharingADatabase(
                "rollout-across",
                arguments: ["--lease-duration", "3s"]
            )
            try await first.startCoordinator()
            try await first.run { first in
                // The first coordinator takes the rollouts lease; the second starts after it and holds the devices.
                try await Task.sleep(for: .seconds(2))
                try await second.startCoordinator()
                try await second.run { second in
                    let base = RolloutTests()
                    let token = try await first.createToken(uses: 3)
                    for name in ["x-1", "x-2", "x-3"] {
                        try first.startAgent(
                            name,
                            token: token.token,
                            coordinators: "127.0.0.1:\(second.port)",
                            extra: ["--capability", "ram=48MiB"]
                        )
                    }
                    try await expectEventually(timeout: .seconds(60)) {
                        try await first.onlineNames() == ["x-1", "x-2", "x-3"]
                    } message: {
                        "three agents online on the second coordinator: \(first.summary)"
                    }
                    _ = try await base.push(
                        first,
                        version: 1,
                        variant: "int8",
                        minRam: "32MiB",
                        accuracy: "0.97",
                        held: false
                    )
                    try await expectEventually(timeout: .seconds(60)) {
                        try await base.versions(first) == ["x-1": 1, "x-2": 1, "x-3": 1]
                    } message: {
                        "all run v1: \(await base.describe { try await base.versions(first) })"
                    }

                    // Started through the first coordinator, which steps it: wave 1 (one device) installs and
                    // soaks for 20 s.
                    let started = try await base.rollOutHeldV2(
                        first,
                        ["--waves", "34,100", "--wave-soak", "20s", "--min-devices-per-wave", "1", "--seed", "3"]
                            + RolloutTests.gatesOff
                    )
                    #expect(started.waves.map(\.devices) == [1, 2])
                    try await expectEventually(timeout: .seconds(60)) {
                        try await base.show(first, started.id).waves[0].installed == 1
                    } message: {
                        "wave 1 installed: \(await base.describe { try await base.show(first, started.id) })"
                    }

                    // The first coordinator dies mid-soak: the second takes the lease and completes the rollout.
                    first.coordinator?.kill9()
                    try await expectEventually(timeout: .seconds(90)) {
                        try await base.show(second, started.id).state == "completed"
                    } message: {
                        "completed by the second: \(await base.describe { try await base.show(second, started.id) })"
                    }
                    try await expectEventually(timeout: .seconds(60)) {
                        try await base.versions(second) == ["x-1": 2, "x-2": 2, "x-3": 2]
                    } message: {
                        "all run v2: \(await base.describe { try await base.versions(second) })"
                    }
                    let waves = try await base.show(second, started.id).waves
                    #expect(waves.allSatisfy { $0.decision == "passed" && $0.installed == $0.devices }, "\(waves)")
                }
            }
        }
    }
}
