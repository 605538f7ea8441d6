import Foundation
import Testing

@testable import FleetAgent

/// The agent's in-memory key and its offline lease, and who may use the local socket (`Protocol/AT-REST.md`,
/// `Protocol/LOCAL.md`).
@Suite struct ModelProtectionAgentTests {
    @Test func theKeyLastsTheOfflineLeaseAfterTheSessionThenIsGone() {
        let keyring = ModelKeyring(offlineLease: .seconds(60))
        let start = ContinuousClock.now
        #expect(keyring.key(at: start) == nil, "nothing before the coordinator is reached")
        #expect(keyring.lockedReason.contains("not received"))
        keyring.received([7])
        #expect(keyring.key(at: start + .seconds(3600)) == [7], "while connected the lease does not run")
        keyring.disconnected(at: start)
        #expect(keyring.key(at: start + .seconds(59)) == [7])
        #expect(keyring.key(at: start + .seconds(61)) == nil)
        #expect(keyring.key(at: start + .seconds(62)) == nil, "dropped, not merely hidden")
        #expect(keyring.lockedReason.contains("offline-lease"))
        keyring.received([8])
        #expect(keyring.key(at: start + .seconds(100)) == [8], "a new session brings it back")
    }

    @Test func theSocketServesOnlyAllowedPeers() {
        let own = PeerCredentials(pid: 1, uid: 1000, gid: 1000)
        let other = PeerCredentials(pid: 2, uid: 1001, gid: 1001)
        let byDefault = LocalAccessPolicy()
        #expect(byDefault.allows(own, ownUID: 1000))
        #expect(!byDefault.allows(other, ownUID: 1000))
        #expect(byDefault.socketMode == 0o600)

        let users = LocalAccessPolicy(allowedUIDs: [1001])
        #expect(users.allows(other, ownUID: 1000))
        #expect(!users.allows(own, ownUID: 1000), "a list replaces the default, the agent's user included")
        #expect(users.socketMode == 0o666)

        let group = LocalAccessPolicy(allowedGIDs: [1001])
        #expect(group.allows(other, ownUID: 1000))
        #expect(!group.allows(own, ownUID: 1000))
        #expect(!group.allows(PeerCredentials(pid: 3, uid: 65_534, gid: 65_534), ownUID: 1000))
    }

    @Test func namesResolveToIDs() {
        #expect(LocalAccessPolicy.uid("0") == 0)
        #expect(LocalAccessPolicy.uid("root") == 0)
        #expect(LocalAccessPolicy.gid("0") == 0)
        #expect(LocalAccessPolicy.uid("no-such-user-\(UUID().uuidString.prefix(6))") == nil)
    }
}
