import Foundation
import Testing

/// Presence across coordinators (issue 12, item 2, "Presence"): a device's liveness is judged from the database.
/// Real coordinators on one real PostgreSQL, real agents.
extension EndToEnd {
    @Suite(.serialized) struct PresenceAcrossCoordinatorsTests {
        /// A starting coordinator leaves the other's devices online; a device that moved from A to B (A's connection
        /// killed without a goodbye) is not marked offline by A when A's timeout passes; when B dies, A marks the
        /// device offline once its timeout has passed.
        @Test func aDeviceIsJudgedOnlineFromTheDatabaseNotByTheCoordinatorItLeft() async throws {
            let (first, second) = try await Fleet.sharingADatabase("presence")
            for fleet in [first, second] {
                fleet.heartbeat = "500ms"
                fleet.offlineTimeout = "5s"
            }
            let secondPort = try freeLoopbackPort()
            try await first.startCoordinator()
            try await first.run { first in
                let token = try await first.createToken(uses: 2)
                try first.startAgent("p-1", token: token.token)
                try first.startAgent("p-2", token: token.token)
                try await expectEventually(timeout: .seconds(60)) {
                    try await first.onlineNames() == ["p-1", "p-2"]
                } message: {
                    "both agents online on the first coordinator: \(first.summary)"
                }

                // A second coordinator starts on the same database: the first one's devices stay online.
                try await second.startCoordinator(port: secondPort)
                try await second.run { second in
                    try await Task.sleep(for: .seconds(3))
                    #expect(try await first.onlineNames() == ["p-1", "p-2"], "\(first.summary)")

                    // p-1 moves to the second coordinator without a goodbye (kill -9, restarted with its address).
                    let cursor = try await first.events().last?.sequence ?? 0
                    first.agents["p-1"]?.kill9()
                    let moved = try first.startAgent("p-1", token: nil, coordinators: "127.0.0.1:\(secondPort)")
                    try await expectEventually(timeout: .seconds(30)) {
                        moved.log.contains("connected")
                    } message: {
                        "p-1 reached the second coordinator: \(moved.log)"
                    }
                    // Past the first coordinator's timeout for p-1 (5 s) and a sweep (every 2.5 s): still online.
                    try await Task.sleep(for: .seconds(9))
                    #expect(try await first.onlineNames() == ["p-1", "p-2"], "\(first.summary)")
                    let offline = try await first.events().filter { $0.sequence > cursor && $0.kind == "offline" }
                    #expect(offline.isEmpty, "nobody marked a device offline: \(offline.map(\.detail))")

                    // The second coordinator dies with p-1 on it: the first marks p-1 offline once its timeout passed.
                    second.coordinator?.kill9()
                    try await expectEventually(timeout: .seconds(30)) {
                        try await first.onlineNames() == ["p-2"]
                    } message: {
                        "p-1 offline, p-2 online: \(first.summary)"
                    }
                    let swept = try await first.events().filter { $0.sequence > cursor && $0.kind == "offline" }
                    #expect(swept.count == 1 && swept.first?.detail.hasPrefix("no heartbeat for") == true, "\(swept)")
                }
            }
        }
    }
}
