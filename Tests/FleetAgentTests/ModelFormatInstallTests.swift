import FleetWire
import Foundation
import Testing

/// The agent installs only files it can load: a safetensors model whose file does not parse, or an opaque file
/// sent for a model installed as safetensors, is refused and the installed model stays where applications read it.
@Suite struct ModelFormatInstallTests {
    @Test func aFileThatIsNotSafetensorsIsRefusedAndTheOldModelKept() async throws {
        var harness = try ModelSyncHarness()
        defer { harness.cleanUp() }
        let v1 = try ModelSyncHarness.model(fill: 1)
        #expect(try await harness.deliver(manifest: harness.manifest(version: 1, file: v1, issuedAt: Date()), file: v1))

        let text = Array("this is not a model!!!\n\n".utf8)
        let manifest = try harness.manifest(version: 2, file: text, issuedAt: Date())
        #expect(try await harness.deliver(manifest: manifest, file: text) == false)

        let installed = try #require(try harness.installed())
        #expect(installed.version == "1")
        #expect(installed.bytes == v1, "applications still read the v1 file")
        let report = try #require(try await harness.reports().last)
        #expect(report.outcome == .refused && report.code == "unloadable-model" && report.version == 2)
        #expect(report.detail.contains("safetensors"), "\(report.detail)")
        // The same desired state again is not fetched again.
        #expect(await harness.offer(manifest: manifest) == nil)
    }

    @Test func aTruncatedSafetensorsFileIsRefused() async throws {
        var harness = try ModelSyncHarness()
        defer { harness.cleanUp() }
        let cut = Array(try ModelSyncHarness.model(fill: 2).dropLast(4))
        #expect(
            try await harness.deliver(manifest: harness.manifest(version: 1, file: cut, issuedAt: Date()), file: cut)
                == false
        )
        #expect(try harness.installed() == nil)
        #expect(try await harness.reports().last?.code == "unloadable-model")
    }

    @Test func anOpaqueFileNeverReplacesASafetensorsModel() async throws {
        var harness = try ModelSyncHarness()
        defer { harness.cleanUp() }
        let v1 = try ModelSyncHarness.model(fill: 1)
        #expect(try await harness.deliver(manifest: harness.manifest(version: 1, file: v1, issuedAt: Date()), file: v1))
        let blob = Array("an ONNX graph, say".utf8)
        let opaque = try harness.manifest(version: 2, file: blob, issuedAt: Date(), metadata: ["format": "opaque"])
        #expect(try await harness.deliver(manifest: opaque, file: blob) == false)
        #expect(try harness.installed()?.bytes == v1)
        #expect(try await harness.reports().last?.code == "format-change")

        // Under a name of its own, an opaque model is delivered as bytes.
        let other = try harness.manifest(
            "onnx-model",
            version: 1,
            file: blob,
            issuedAt: Date(),
            metadata: ["format": "opaque"]
        )
        #expect(try await harness.deliver("onnx-model", manifest: other, file: blob))
        #expect(try harness.installed("onnx-model")?.bytes == blob)
    }

    @Test func aManifestWithAProtectionPolicyTheAgentDoesNotKnowIsRefused() async throws {
        var harness = try ModelSyncHarness()
        defer { harness.cleanUp() }
        let v1 = try ModelSyncHarness.model(fill: 1)
        #expect(try await harness.deliver(manifest: harness.manifest(version: 1, file: v1, issuedAt: Date()), file: v1))
        let v2 = try ModelSyncHarness.model(fill: 2)
        let future = try harness.manifest(version: 2, file: v2, issuedAt: Date(), metadata: ["protection": "enclave"])
        #expect(await harness.offer(manifest: future) == nil, "nothing is fetched under a policy it cannot keep")
        #expect(try harness.installed()?.bytes == v1)
        let report = try #require(try await harness.reports().last)
        #expect(report.outcome == .refused && report.code == "unknown-protection" && report.version == 2)
        #expect(report.detail.contains("enclave"), "\(report.detail)")
    }
}
