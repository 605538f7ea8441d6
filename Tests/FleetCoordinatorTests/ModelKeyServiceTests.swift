import FleetLearning
import FleetModelIO
import FleetStore
import FleetTrust
import FleetWire
import Foundation
import Logging
import Testing

@testable import FleetCoordinator

/// Key delivery (`Protocol/AT-REST.md`): only an authenticated device may ask, and it only ever gets its own key.
@Suite struct ModelKeyServiceTests {
    let settings = SessionStateMachine.Settings(
        maximumFrameLength: 1 << 20,
        heartbeatIntervalMilliseconds: 10_000,
        offlineTimeoutMilliseconds: 30_000
    )
    let nonce = [UInt8](repeating: 9, count: 32)

    @Test func theAnswerIsTheSessionDevicesOwnKey() async throws {
        let secret = Digest.randomBytes(32)
        let service = ModelKeyService(coordinatorSecret: secret)
        let reply = await service.handle(.modelKeyRequest(ModelKeyRequest(requestID: 4)), from: "d-00000000000000aa")
        guard case .modelKey(let answer) = reply else {
            Issue.record("expected modelKey, got \(String(describing: reply))")
            return
        }
        #expect(answer.requestID == 4)
        #expect(answer.key == DeviceModelKey.derive(coordinatorSecret: secret, deviceID: "d-00000000000000aa"))
        let other = await service.handle(.modelKeyRequest(ModelKeyRequest(requestID: 4)), from: "d-00000000000000bb")
        #expect(other != reply)
        #expect(await service.handle(.heartbeat, from: "d-00000000000000aa") == nil)
    }

    @Test func onlyAnAuthenticatedDeviceMayAsk() {
        let request = Message.modelKeyRequest(ModelKeyRequest(requestID: 2))
        var early = SessionStateMachine(settings: settings)
        _ = early.receive(hello(.device), nonce: { nonce }, now: 0)
        guard case .fail(let refused) = early.receive(request, nonce: { nonce }, now: 0) else {
            Issue.record("a key request before authentication must close the connection")
            return
        }
        #expect(refused.code == .notAuthenticated)

        var admin = SessionStateMachine(settings: settings)
        _ = admin.receive(hello(.admin), nonce: { nonce }, now: 0)
        _ = admin.receive(
            .adminAuthenticate(AdminAuthenticate(nonce: nonce, proof: [UInt8](repeating: 0, count: 32))),
            nonce: { nonce },
            now: 0
        )
        _ = admin.adminWelcomed()
        guard case .fail(let notDevice) = admin.receive(request, nonce: { nonce }, now: 0) else {
            Issue.record("an administrator has no device key")
            return
        }
        #expect(notDevice.code == .unexpectedMessage)

        var device = SessionStateMachine(settings: settings)
        _ = device.receive(hello(.device), nonce: { nonce }, now: 0)
        _ = device.receive(
            .authenticate(Authenticate(deviceID: "d-1", nonce: nonce, signature: Array(repeating: 0, count: 64))),
            nonce: { nonce },
            now: 0
        )
        _ = device.welcomed(deviceID: "d-1", labels: [:])
        #expect(device.receive(request, nonce: { nonce }, now: 0) == .deviceRequest(deviceID: "d-1", request))
    }

    func hello(_ role: PeerRole) -> Message {
        .hello(Hello(minimumVersion: 1, maximumVersion: 1, role: role, software: "t", maximumFrameLength: 1 << 20))
    }
}

/// A version the coordinator generates (a federated round's global or regional variant) keeps the model's policy.
@Suite struct GeneratedVersionProtectionTests {
    @Test func roundsPublishProtectedModelsProtected() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "tinyfleet-generated-\(UUID().uuidString.prefix(8))"
        ).path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let registry = ModelRegistry(
            store: try CoordinatorStore(path: directory + "/coordinator.sqlite"),
            blobDirectory: directory,
            releaseKey: ReleaseKey.generate(),
            connections: ConnectionRegistry(),
            logger: Logger.quietTest
        )
        func publish(_ version: Int, _ variant: String, _ metadata: [String: String]) async throws {
            _ = try await registry.publishGenerated(
                model: "digits",
                version: version,
                variant: variant,
                bytes: try ModelFile.write(
                    MLP.initialize(layers: [4, 2], seed: UInt64(version)).parameters,
                    metadata: [:]
                ),
                requirements: [:],
                metadata: metadata
            )
        }
        func protection(_ version: Int, _ variant: String) async throws -> String? {
            let record = try await registry.store.modelVariant(model: "digits", version: version, variant: variant)
            let signed = try SignedManifest(decoding: try #require(record).signedManifest)
            return signed.manifest.metadata[ModelProtection.metadataKey]
        }
        try await publish(1, "fp32", ["protection": "agent-only"])
        try await publish(2, "fp32", ["round": "1"])
        try await publish(2, "fp32-eu", ["round": "1", "region": "eu"])
        #expect(try await protection(2, "fp32") == "agent-only")
        #expect(try await protection(2, "fp32-eu") == "agent-only", "regional variants too")
        try await publish(3, "fp32", ["protection": "plain"])
        #expect(try await protection(3, "fp32") == "plain", "an explicit policy is kept")
    }
}

@Suite struct UploadProtectionTests {
    @Test func anUnknownPolicyIsRefusedAtUploadBegin() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "tinyfleet-upload-\(UUID().uuidString.prefix(8))"
        ).path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let uploads = UploadSessions(dataDirectory: directory)
        func begin(_ protection: String) async throws -> String {
            try await uploads.begin(
                UploadBegin(
                    requestID: 5,
                    model: "digits",
                    version: 1,
                    variant: "fp32",
                    size: 10,
                    sha256: [UInt8](repeating: 0, count: 32),
                    requirements: [:],
                    metadata: ["protection": protection]
                )
            )
        }
        await #expect(throws: ErrorMessage.self) { try await begin("secret") }
        do {
            _ = try await begin("secret")
        } catch let error as ErrorMessage {
            #expect(error.code == .badRequest && error.requestID == 5)
        }
        #expect(try await begin("agent-only").hasPrefix("u-"))
    }
}
