import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// An agent whose coordinator falls silent (here: the coordinator process stopped with SIGSTOP, so its sockets stay
/// open but nothing answers) gives the session up after the offline timeout and reconnects, instead of waiting on
/// the dead connection for ever with its heartbeats stopped.
extension EndToEnd {
    @Suite(.serialized) struct SilentCoordinatorTests {
        @Test func anAgentLeavesASilentConnectionAndComesBackWhenTheCoordinatorDoes() async throws {
            let fleet = try Fleet("silent")
            defer { fleet.cleanUp() }
            try await fleet.startCoordinator()
            try fleet.startAgent("edge", token: try await fleet.createToken().token)
            #expect(try await eventually(timeout: .seconds(20)) { try await fleet.onlineNames() == ["edge"] })
            let coordinator = try #require(fleet.coordinator)

            kill(coordinator.pid, SIGSTOP)
            let gaveUp = try await eventually(timeout: .seconds(20)) {
                fleet.agents["edge"]?.log.contains("coordinator silent") ?? false
            }
            kill(coordinator.pid, SIGCONT)
            #expect(gaveUp, "the agent noticed the silence")

            #expect(try await eventually(timeout: .seconds(30)) { try await fleet.onlineNames() == ["edge"] })
            // Online for good, not only while the coordinator works through the heartbeats it had queued: well past
            // the offline timeout (1.5 s), the device is still online.
            try await Task.sleep(for: .seconds(5))
            #expect(try await fleet.onlineNames() == ["edge"], "still online: \(fleet.summary)")
            await fleet.stopAll()
        }
    }
}
