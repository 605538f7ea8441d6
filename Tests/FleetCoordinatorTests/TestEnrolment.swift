import FleetStore
import FleetTrust
import FleetWire
import Foundation
import Logging

@testable import FleetCoordinator

/// A device enrolled as a real one is: an admin token, a fresh identity, a signed `enrol` through the
/// `DeviceAuthority`. For tests that need an enrolled device and its key.
struct TestEnrolment {
    let identity: DeviceIdentity
    let deviceID: String

    static func enrol(
        store: CoordinatorStore,
        models: ModelRegistry,
        logger: Logger,
        name: String,
        labels: [String: String] = [:]
    ) async throws -> TestEnrolment {
        let admin = AdminRequests(store: store, presence: PresenceTracker(offlineTimeout: 30), models: models)
        let authority = DeviceAuthority(store: store, adminCredential: .generate(), logger: logger)
        let token = try await admin.createToken(CreateToken(requestID: 1, uses: 1, expiresInSeconds: 0, labels: [:]))
        let identity = DeviceIdentity.generate()
        let nonce = Digest.randomBytes(32)
        let enrol = Enrol(
            token: token.token,
            publicKey: identity.publicKey,
            signature: try identity.sign(AuthChallenge.enrol(nonce: nonce, publicKey: identity.publicKey)),
            name: name,
            labels: labels,
            capabilities: [:],
            software: "test"
        )
        let accepted = try await authority.enrol(enrol, nonce: nonce, peer: "t").get()
        return TestEnrolment(identity: identity, deviceID: accepted.deviceID)
    }
}
