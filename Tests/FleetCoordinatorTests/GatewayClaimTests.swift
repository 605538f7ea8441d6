import FleetStore
import FleetTrust
import FleetWire
import Foundation
import Logging
import Testing

@testable import FleetCoordinator

/// A gateway's claim on a leaf's connection (SPEC 15b): accepted once, only before a device's credentials and only
/// over this connection's nonce; checked against the gateway's enrolled key before the leaf's own credentials, and
/// recorded on the leaf only when both hold.
@Suite struct GatewayClaimTests {
    let nonce = [UInt8](repeating: 7, count: 32)
    let settings = SessionStateMachine.Settings(
        maximumFrameLength: 1 << 20,
        heartbeatIntervalMilliseconds: 10_000,
        offlineTimeoutMilliseconds: 30_000
    )

    func machine(role: PeerRole) -> SessionStateMachine {
        var machine = SessionStateMachine(settings: settings)
        _ = machine.receive(
            .hello(Hello(role: role, software: "t", maximumFrameLength: 1 << 20)),
            nonce: { nonce },
            now: 0
        )
        return machine
    }

    func claim(nonce: [UInt8]) -> Message {
        .gatewayClaim(GatewayClaim(gatewayID: "d-1", nonce: nonce, signature: Array(repeating: 1, count: 64)))
    }

    func failureCode(_ action: SessionStateMachine.Action) -> ErrorCode? {
        if case .fail(let error) = action { return error.code }
        return nil
    }

    @Test func theStateMachineTakesOneClaimBeforeTheCredentials() {
        var device = machine(role: .device)
        #expect(device.receive(claim(nonce: nonce), nonce: { nonce }, now: 0) == .none)
        #expect(device.gatewayClaim?.gatewayID == "d-1")
        #expect(failureCode(device.receive(claim(nonce: nonce), nonce: { nonce }, now: 0)) == .unexpectedMessage)

        var replayed = machine(role: .device)
        let other = [UInt8](repeating: 8, count: 32)
        #expect(failureCode(replayed.receive(claim(nonce: other), nonce: { nonce }, now: 0)) == .replayedNonce)

        var admin = machine(role: .admin)
        #expect(failureCode(admin.receive(claim(nonce: nonce), nonce: { nonce }, now: 0)) == .unexpectedMessage)
    }

    @Test func theAuthorityChecksTheGatewayKeyThenRecordsTheGateway() async throws {
        let store = try CoordinatorStore.inMemory()
        let authority = DeviceAuthority(store: store, adminCredential: .generate(), logger: Logger.quietTest)
        _ = try await store.createToken(
            NewEnrolmentToken(
                id: "t-leaf",
                secretHash: Digest.sha256(Array("tft_leaf".utf8)),
                uses: 3,
                expiresAt: nil,
                labels: [:],
                createdAt: Date()
            )
        )
        func enrol(_ identity: DeviceIdentity, name: String) async throws -> String {
            let request = Enrol(
                token: "tft_leaf",
                publicKey: identity.publicKey,
                signature: try identity.sign(AuthChallenge.enrol(nonce: nonce, publicKey: identity.publicKey)),
                name: name,
                labels: [:],
                capabilities: [:],
                software: "t"
            )
            return try await authority.enrol(request, nonce: nonce, peer: "t").get().deviceID
        }
        let gateway = DeviceIdentity.generate()
        let gatewayID = try await enrol(gateway, name: "gateway")
        let leaf = DeviceIdentity.generate()
        let leafID = try await enrol(leaf, name: "leaf")
        let authenticate = Authenticate(
            deviceID: leafID,
            nonce: nonce,
            signature: try leaf.sign(AuthChallenge.authenticate(nonce: nonce, deviceID: leafID))
        )
        func admit(_ claim: GatewayClaim?) async -> Result<DeviceAuthority.Accepted, ErrorMessage> {
            await authority.admit(gateway: claim, nonce: nonce, peer: "t") {
                await authority.authenticate(authenticate, nonce: nonce, peer: "t")
            }
        }
        let honest = GatewayClaim(
            gatewayID: gatewayID,
            nonce: nonce,
            signature: try gateway.sign(AuthChallenge.gateway(nonce: nonce, gatewayID: gatewayID))
        )
        // Signed by another key (here the leaf's own), or by an unknown gateway: refused, nothing recorded.
        var forged = honest
        forged.signature = try leaf.sign(AuthChallenge.gateway(nonce: nonce, gatewayID: gatewayID))
        #expect(await admit(forged).failure?.code == .badSignature)
        var unknown = honest
        unknown.gatewayID = "d-0000000000000000"
        #expect(await admit(unknown).failure?.code == .unknownDevice)
        #expect(try await store.deviceGateways().isEmpty)

        #expect(try await admit(honest).get().deviceID == leafID)
        let recorded = try await store.deviceGateways()
        #expect(recorded.map(\.deviceID) == [leafID] && recorded.map(\.gatewayID) == [gatewayID])
        // Administrators read it with listGateways.
        let models = ModelRegistry(
            store: store,
            blobDirectory: FileManager.default.temporaryDirectory.appendingPathComponent("fleet-test-\(UUID())").path,
            releaseKey: .generate(),
            connections: ConnectionRegistry(),
            logger: Logger.quietTest
        )
        let admin = AdminRequests(store: store, presence: PresenceTracker(offlineTimeout: 30), models: models)
        let page = try await admin.listGateways(ListGateways(requestID: 5, offset: 0, limit: 0), frameBudget: 1024)
        #expect(page.total == 1 && page.entries == [DeviceGateway(deviceID: leafID, gatewayID: gatewayID)])
        #expect(
            try await admin.listGateways(ListGateways(requestID: 6, offset: 1, limit: 10), frameBudget: 1024).entries
                .isEmpty
        )
        // Connecting directly afterwards clears it.
        _ = try await admit(nil).get()
        #expect(try await store.deviceGateways().isEmpty)
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
