import FleetStore
import FleetTrust
import FleetWire
import Foundation
import Logging
import Testing

@testable import FleetCoordinator

@Suite struct DeviceAuthorityTests {
    let nonce = Digest.randomBytes(32)

    func makeAuthority() throws -> (DeviceAuthority, AdminRequests) {
        let store = try CoordinatorStore.inMemory()
        let authority = DeviceAuthority(store: store, adminCredential: .generate(), logger: Logger.quietTest)
        let models = ModelRegistry(
            store: store,
            blobDirectory: FileManager.default.temporaryDirectory.appendingPathComponent("fleet-test-\(UUID())").path,
            releaseKey: .generate(),
            connections: ConnectionRegistry(),
            logger: Logger.quietTest
        )
        return (authority, AdminRequests(store: store, presence: PresenceTracker(offlineTimeout: 30), models: models))
    }

    func enrolment(_ identity: DeviceIdentity, token: String, nonce: [UInt8]) throws -> Enrol {
        Enrol(
            token: token,
            publicKey: identity.publicKey,
            signature: try identity.sign(AuthChallenge.enrol(nonce: nonce, publicKey: identity.publicKey)),
            name: "cam",
            labels: ["site": "lyon"],
            capabilities: ["arch": "aarch64"],
            software: "test"
        )
    }

    /// A device cannot choose its region (nor override any label its token sets): the token's win, and the
    /// device's own attempts are named in the enrolment event.
    @Test func protectedAndTokenLabelsComeFromTheTokenOnly() async throws {
        let (authority, admin) = try makeAuthority()
        let token = try await admin.createToken(
            CreateToken(requestID: 1, uses: 2, expiresInSeconds: 0, labels: ["region": "eu", "site": "paris"])
        )
        var request = try enrolment(DeviceIdentity.generate(), token: token.token, nonce: nonce)
        request.labels = ["region": "us", "site": "lyon", "room": "3"]
        let enrolled = try await authority.enrol(request, nonce: nonce, peer: "t").get()
        #expect(enrolled.labels == ["region": "eu", "site": "paris", "room": "3"])

        let plain = try await admin.createToken(CreateToken(requestID: 2, uses: 1, expiresInSeconds: 0, labels: [:]))
        var own = try enrolment(DeviceIdentity.generate(), token: plain.token, nonce: nonce)
        own.labels = ["region": "us", "room": "4"]
        let unlabelled = try await authority.enrol(own, nonce: nonce, peer: "t").get()
        #expect(unlabelled.labels == ["room": "4"], "no region unless the token gives one")
        let events = try await authority.store.events(deviceID: unlabelled.deviceID, limit: 10, afterSequence: nil)
        #expect(events.contains { $0.kind == "enrolled" && $0.detail.contains("ignored the device's own region=us") })
    }

    @Test func enrolThenAuthenticate() async throws {
        let (authority, admin) = try makeAuthority()
        let token = try await admin.createToken(
            CreateToken(requestID: 1, uses: 1, expiresInSeconds: 0, labels: ["region": "eu"])
        )
        let identity = DeviceIdentity.generate()
        let enrolled = try await authority.enrol(
            enrolment(identity, token: token.token, nonce: nonce),
            nonce: nonce,
            peer: "t"
        ).get()
        #expect(enrolled.deviceID == DeviceIdentity.deviceID(forPublicKey: identity.publicKey))
        #expect(enrolled.labels == ["region": "eu", "site": "lyon"])

        let signature = try identity.sign(AuthChallenge.authenticate(nonce: nonce, deviceID: enrolled.deviceID))
        let again = try await authority.authenticate(
            Authenticate(deviceID: enrolled.deviceID, nonce: nonce, signature: signature),
            nonce: nonce,
            peer: "t"
        ).get()
        #expect(again.deviceID == enrolled.deviceID)
    }

    @Test func refusalsHaveDistinctCodes() async throws {
        let (authority, admin) = try makeAuthority()
        let token = try await admin.createToken(CreateToken(requestID: 1, uses: 1, expiresInSeconds: 0, labels: [:]))
        let first = DeviceIdentity.generate()
        _ = try await authority.enrol(enrolment(first, token: token.token, nonce: nonce), nonce: nonce, peer: "t").get()

        func code(_ result: Result<DeviceAuthority.Accepted, ErrorMessage>) -> ErrorCode? {
            if case .failure(let error) = result { return error.code }
            return nil
        }
        let reused = await authority.enrol(
            try enrolment(.generate(), token: token.token, nonce: nonce),
            nonce: nonce,
            peer: "t"
        )
        #expect(code(reused) == .tokenUsed)
        let unknown = await authority.enrol(
            try enrolment(.generate(), token: "tft_x", nonce: nonce),
            nonce: nonce,
            peer: "t"
        )
        #expect(code(unknown) == .tokenUnknown)

        var forged = try enrolment(.generate(), token: token.token, nonce: nonce)
        forged.publicKey = DeviceIdentity.generate().publicKey
        #expect(code(await authority.enrol(forged, nonce: nonce, peer: "t")) == .badSignature)

        let deviceID = DeviceIdentity.deviceID(forPublicKey: first.publicKey)
        let wrongKey = try DeviceIdentity.generate().sign(AuthChallenge.authenticate(nonce: nonce, deviceID: deviceID))
        let impostor = await authority.authenticate(
            Authenticate(deviceID: deviceID, nonce: nonce, signature: wrongKey),
            nonce: nonce,
            peer: "t"
        )
        #expect(code(impostor) == .badSignature)
        let nobody = await authority.authenticate(
            Authenticate(deviceID: "d-ffffffffffffffff", nonce: nonce, signature: wrongKey),
            nonce: nonce,
            peer: "t"
        )
        #expect(code(nobody) == .unknownDevice)
    }

    @Test func expiredTokenIsRefused() async throws {
        let store = try CoordinatorStore.inMemory()
        let authority = DeviceAuthority(store: store, adminCredential: .generate(), logger: Logger.quietTest)
        _ = try await store.createToken(
            NewEnrolmentToken(
                id: "t-old",
                secretHash: Digest.sha256("tft_old".utf8),
                uses: 1,
                expiresAt: Date().addingTimeInterval(-1),
                labels: [:],
                createdAt: Date().addingTimeInterval(-100)
            )
        )
        let result = await authority.enrol(
            try enrolment(.generate(), token: "tft_old", nonce: nonce),
            nonce: nonce,
            peer: "t"
        )
        guard case .failure(let error) = result else {
            Issue.record("expected refusal")
            return
        }
        #expect(error.code == .tokenExpired)
    }

    @Test func adminCredentialIsChecked() async throws {
        let credential = AdminCredential.generate()
        let authority = DeviceAuthority(store: try .inMemory(), adminCredential: credential, logger: Logger.quietTest)
        let right = AdminAuthenticate(nonce: nonce, proof: credential.proof(nonce: nonce))
        #expect(await authority.authenticateAdmin(right, nonce: nonce, peer: "t") == nil)
        let wrong = AdminCredential.generate().proof(nonce: nonce)
        let refusal = await authority.authenticateAdmin(
            AdminAuthenticate(nonce: nonce, proof: wrong),
            nonce: nonce,
            peer: "t"
        )
        #expect(refusal?.code == .adminDenied)
    }

    @Test func refusalsFromOneSourceAreCoalescedIntoOneEventPerKind() async throws {
        let store = try CoordinatorStore.inMemory()
        var authority = DeviceAuthority(store: store, adminCredential: .generate(), logger: Logger.quietTest)
        // An hour's window, so that the 56 refusals below share one window however slowly a loaded machine runs
        // them (with the default minute, a CI run once took longer and saw a second window's first event).
        let window: TimeInterval = 3600
        authority.refusals = RefusalLimiter(settings: .init(window: window))
        for _ in 0..<50 {
            let enrol = try enrolment(.generate(), token: "tft_nope", nonce: nonce)
            #expect(refusalCode(await authority.enrol(enrol, nonce: nonce, peer: "192.0.2.1")) == .tokenUnknown)
        }
        let unknown = Authenticate(
            deviceID: "d-0000000000000000",
            nonce: nonce,
            signature: [UInt8](repeating: 0, count: 64)
        )
        for _ in 0..<5 {
            #expect(
                refusalCode(await authority.authenticate(unknown, nonce: nonce, peer: "192.0.2.1")) == .unknownDevice
            )
        }
        let other = try enrolment(.generate(), token: "tft_nope", nonce: nonce)
        _ = await authority.enrol(other, nonce: nonce, peer: "198.51.100.7")
        let events = try await store.events(deviceID: nil, limit: 1000, afterSequence: nil)
        // One event per kind and source: 55 refusals from 192.0.2.1, 1 from 198.51.100.7.
        #expect(events.map(\.kind).sorted() == ["auth_refused", "enrol_refused", "enrol_refused"])

        // When the window ends, the coalesced ones become one summary event each, with their count.
        let recorder = RefusalRecorder(
            limiter: authority.refusals,
            store: store,
            interval: .seconds(5),
            logger: Logger.quietTest
        )
        await recorder.record(now: Date().addingTimeInterval(window + 1))
        let summaries = try await store.events(deviceID: nil, limit: 1000, afterSequence: events.last?.sequence)
        let counted = Dictionary(uniqueKeysWithValues: summaries.map { ($0.kind, $0.detail) })
        #expect(counted["enrol_refused"]?.hasPrefix("49 more refused from 192.0.2.1 ") == true)
        #expect(counted["auth_refused"]?.hasPrefix("4 more refused from 192.0.2.1 ") == true)
        #expect(summaries.count == 2, "nothing coalesced from 198.51.100.7: no summary for it")
    }

    private func refusalCode(_ result: Result<DeviceAuthority.Accepted, ErrorMessage>) -> ErrorCode? {
        if case .failure(let error) = result { return error.code }
        return nil
    }

    @Test func deviceListPagesFitTheFrameBudget() async throws {
        let (authority, admin) = try makeAuthority()
        let token = try await admin.createToken(CreateToken(requestID: 1, uses: 50, expiresInSeconds: 0, labels: [:]))
        for _ in 0..<50 {
            _ = try await authority.enrol(
                enrolment(.generate(), token: token.token, nonce: nonce),
                nonce: nonce,
                peer: "t"
            ).get()
        }
        let page = try await admin.listDevices(ListDevices(requestID: 2, offset: 0, limit: 200), frameBudget: 2048)
        #expect(page.total == 50)
        #expect(!page.devices.isEmpty && page.devices.count < 50)
        #expect(Message.deviceList(page).encodedFrame().readableBytes <= 2048)
    }
}
