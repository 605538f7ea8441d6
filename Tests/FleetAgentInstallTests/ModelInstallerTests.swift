import Foundation
import Testing

@testable import FleetAgent

@Suite struct ModelInstallerTests {
    let v1 = payload(3000, seed: 1)
    let v2 = payload(3000, seed: 2)
    let v3 = payload(2500, seed: 3)

    func installer(_ dir: String) -> ModelInstaller {
        ModelInstaller(dataDirectory: dir, hash: fakeHash, now: fixedNow)
    }

    func install(_ installer: ModelInstaller, _ version: String, _ bytes: [UInt8]) throws -> InstalledModelState {
        try installer.install(
            model: "kws",
            version: version,
            variant: "int8",
            sha256: fakeDigest(bytes),
            bytes: bytes,
            manifest: Array("manifest-\(version)".utf8)
        )
    }

    @Test func firstInstallPublishesTheStablePath() throws {
        try withDataDirectory { dir in
            let state = try install(installer(dir), "1", v1)
            #expect(state.path == "\(dir)/models/kws/current.safetensors")
            #expect(state.path == ModelStorageLayout.currentModelPath(dataDirectory: dir, model: "kws"))
            #expect(fileBytes(state.path) == v1)
            #expect(state.previous == nil)
            #expect(state.sha256 == fakeDigest(v1))
            #expect(state.size == v1.count)
            #expect(installer(dir).installed(model: "kws") == state)
            #expect(try installer(dir).currentBytes(model: "kws") == v1)
            #expect(try installer(dir).recover().isEmpty)
            #expect(
                Set(try FileManager.default.contentsOfDirectory(atPath: "\(dir)/models/kws")) == [
                    "current.safetensors", "installed.json",
                ]
            )
        }
    }

    @Test func installAgainKeepsThePreviousVersion() throws {
        try withDataDirectory { dir in
            let installer = installer(dir)
            _ = try install(installer, "1", v1)
            let second = try install(installer, "2", v2)
            #expect(second.version == "2")
            #expect(second.previous?.version == "1")
            #expect(second.previous?.sha256 == fakeDigest(v1))
            #expect(fileBytes("\(dir)/models/kws/current.safetensors") == v2)
            #expect(fileBytes("\(dir)/models/kws/previous.safetensors") == v1)
            let third = try install(installer, "3", v3)
            #expect(third.previous?.version == "2")
            #expect(fileBytes("\(dir)/models/kws/previous.safetensors") == v2)
            #expect(installer.installed().map(\.version) == ["3"])
        }
    }

    @Test func reinstallingTheCurrentVersionChangesNothing() throws {
        try withDataDirectory { dir in
            let installer = installer(dir)
            _ = try install(installer, "1", v1)
            let second = try install(installer, "2", v2)
            #expect(try install(installer, "2", v2) == second)
            #expect(fileBytes("\(dir)/models/kws/previous.safetensors") == v1)
        }
    }

    @Test func installedJSONHasTheDocumentedFields() throws {
        try withDataDirectory { dir in
            _ = try install(installer(dir), "1", v1)
            let data = try #require(FileManager.default.contents(atPath: "\(dir)/models/kws/installed.json"))
            let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            #expect(
                Set(object.keys) == [
                    "formatVersion", "model", "version", "variant", "sha256", "size", "installedAt", "previous",
                    "manifest",
                ]
            )
            #expect(object["previous"] is NSNull)
            #expect(object["manifest"] as? String == Data("manifest-1".utf8).base64EncodedString())
        }
    }

    @Test func rollbackSwapsPreviousBackAndCanBeUndone() throws {
        try withDataDirectory { dir in
            let installer = installer(dir)
            _ = try install(installer, "1", v1)
            _ = try install(installer, "2", v2)
            let rolledBack = try installer.rollback(model: "kws")
            #expect(rolledBack.version == "1")
            #expect(rolledBack.manifest == Array("manifest-1".utf8))
            #expect(rolledBack.previous?.version == "2")
            #expect(fileBytes("\(dir)/models/kws/current.safetensors") == v1)
            #expect(fileBytes("\(dir)/models/kws/previous.safetensors") == v2)
            let undone = try installer.rollback(model: "kws")
            #expect(undone.version == "2")
            #expect(fileBytes("\(dir)/models/kws/current.safetensors") == v2)
            #expect(try installer.recover().isEmpty)
        }
    }

    @Test func rollbackWithoutPreviousOrWithACorruptPreviousIsRefused() throws {
        try withDataDirectory { dir in
            let installer = installer(dir)
            #expect(throws: ModelInstallError.notInstalled("")) { try installer.rollback(model: "kws") }
            _ = try install(installer, "1", v1)
            #expect(throws: ModelInstallError.noPrevious("")) { try installer.rollback(model: "kws") }
            _ = try install(installer, "2", v2)
            try writeBytes(v3, to: "\(dir)/models/kws/previous.safetensors")
            #expect(throws: ModelInstallError.hashMismatch("")) { try installer.rollback(model: "kws") }
            #expect(fileBytes("\(dir)/models/kws/current.safetensors") == v2)
        }
    }

    @Test func bytesMustMatchTheirDigestAndSizeLimit() throws {
        try withDataDirectory { dir in
            let installer = installer(dir)
            #expect(throws: ModelInstallError.hashMismatch("")) {
                try installer.install(
                    model: "kws",
                    version: "1",
                    variant: "int8",
                    sha256: fakeDigest(v2),
                    bytes: v1,
                    manifest: []
                )
            }
            let small = ModelInstaller(dataDirectory: dir, maximumModelBytes: 100, hash: fakeHash, now: fixedNow)
            #expect(throws: ModelInstallError.tooLarge("")) { try install(small, "1", v1) }
            #expect(installer.installed().isEmpty)
            #expect(throws: ModelInstallError.notInstalled("")) { try installer.currentBytes(model: "kws") }
        }
    }

    @Test(arguments: ["../x", "", String(repeating: "m", count: 65), "a/b", "..", ".", ".x", "a..b", "kws\u{0}"])
    func invalidModelNamesAreRefused(name: String) throws {
        try withDataDirectory { dir in
            let installer = installer(dir)
            #expect(!ModelStorageLayout.isValidModelName(name))
            #expect(throws: ModelInstallError.invalidModelName("")) {
                try installer.install(
                    model: name,
                    version: "1",
                    variant: "int8",
                    sha256: fakeDigest(v1),
                    bytes: v1,
                    manifest: []
                )
            }
            #expect(throws: ModelInstallError.invalidModelName("")) { try installer.rollback(model: name) }
            #expect(throws: ModelInstallError.invalidModelName("")) { try installer.currentBytes(model: name) }
            #expect(installer.installed(model: name) == nil)
            let entries = try FileManager.default.contentsOfDirectory(atPath: dir)
            #expect(entries.isEmpty)
        }
    }

    @Test func validModelNames() {
        for name in ["kws", "person-detect_v2.int8", String(repeating: "m", count: 64), "A.b-c_9"] {
            #expect(ModelStorageLayout.isValidModelName(name))
        }
    }
}
