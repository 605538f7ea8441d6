import FleetTrust
import Foundation
import Testing

@testable import FleetAgent

/// How the agent stores and opens protected models (`Protocol/AT-REST.md`, "What the agent does with a protected
/// model"), on a real data directory.
@Suite struct ProtectedStorageTests {
    let weights: [UInt8] =
        FileManager.default.contents(
            atPath: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("FleetDeltaTests/Fixtures/digits-mlp-v1-fp32.safetensors").path
        ).map { Array($0) } ?? []

    func install(_ protection: ModelProtection, keyring: ModelKeyring, in directory: String) throws {
        let vault = ModelVault(dataDirectory: directory, keyring: keyring)
        let sha = Digest.sha256(weights)
        try vault.installer.install(
            model: "digits",
            version: "1",
            variant: "fp32",
            sha256: Digest.hex(sha),
            bytes: try vault.storedForm(of: weights, model: "digits", sha256: sha, protection: protection),
            manifest: []
        )
    }

    func temporaryDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "tinyfleet-vault-\(UUID().uuidString.prefix(8))"
        ).path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func withoutTheKeyAProtectedModelIsLockedEvenForTheLocalCommandLine() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try #require(!weights.isEmpty, "the digits fixture")
        let keyring = ModelKeyring(offlineLease: .seconds(3600))
        #expect(throws: ModelLocked.self) { try install(.atRest, keyring: keyring, in: directory) }
        keyring.received(Digest.randomBytes(32))
        try install(.atRest, keyring: keyring, in: directory)

        // `fleet-agent infer --local` builds InstalledModels without a keyring.
        do {
            _ = try await InstalledModels(dataDirectory: directory).model(named: "digits")
            Issue.record("a sealed model must not open without the key")
        } catch {
            #expect(error.code == "model-locked")
        }
        let daemon = InstalledModels(dataDirectory: directory, keyring: keyring)
        #expect(try await daemon.model(named: "digits").protection == .atRest)
        #expect(try await daemon.weightsFile(named: "digits").bytes == weights)
        // Recovery identifies the sealed file without the key and keeps it.
        #expect(try ModelInstaller.agent(dataDirectory: directory).recover().isEmpty)
        #expect(try ModelVault(dataDirectory: directory, keyring: keyring).plaintext(model: "digits").bytes == weights)
    }

    @Test func agentOnlyWeightsAreNeverHandedOut() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let keyring = ModelKeyring(offlineLease: .seconds(3600))
        keyring.received(Digest.randomBytes(32))
        try install(.agentOnly, keyring: keyring, in: directory)
        let models = InstalledModels(dataDirectory: directory, keyring: keyring)
        #expect(try await models.model(named: "digits").mlp.inputCount == 64)
        do {
            _ = try await models.weightsFile(named: "digits")
            Issue.record("agent-only weights must not be handed out")
        } catch {
            #expect(error.code == "agent-only")
        }
    }

    @Test func aProtectedTransferStaysInMemoryAndInOrder() throws {
        let payload: [UInt8] = Array(0..<100)
        let descriptor = TransferDescriptor(
            model: "digits",
            version: "1",
            variant: "fp32",
            encoding: .full,
            baseVersion: nil,
            payloadSHA256: Digest.hex(Digest.sha256(payload)),
            totalBytes: payload.count
        )
        #expect(throws: AgentError.self) { try MemoryTransfer(descriptor, maximumBytes: 99) }
        var transfer = try MemoryTransfer(descriptor, maximumBytes: 1_000)
        #expect(throws: AgentError.self) { try transfer.append(Array(payload[10..<20]), at: 10) }
        try transfer.append(Array(payload[0..<60]), at: 0)
        #expect(throws: AgentError.self) { try transfer.append(Array(payload[60..<100]) + [0], at: 60) }
        #expect(throws: AgentError.self) { try transfer.complete() }
        try transfer.append(Array(payload[60..<100]), at: 60)
        #expect(transfer.progress.isComplete)
        #expect(try transfer.complete() == payload)
    }
}
