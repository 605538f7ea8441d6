// FleetTinyKit's leaf session on the host, against a coordinator played with FleetWire and FleetTrust.
import Crypto
import FleetTrust
import FleetWire
import Foundation
import Testing

@testable import FleetTinyKit

@Suite struct LeafSessionTests {
    /// First start: the identity key is stored before `enrol` is sent, the enrolment challenge is signed with it (as
    /// swift-crypto verifies), the capabilities say what the leaf is; after a restart it authenticates with the id
    /// SPEC 7.4 derives from its key. The same whether the leaf is returned by its initializer or built in place.
    @Test(arguments: [false, true]) func enrolsOnceWithItsOwnKeyThenAuthenticates(inPlace: Bool) throws {
        let world = LeafWorld()
        let first = LeafUnderTest(world: world, inPlace: inPlace)
        #expect(first.poll() == .connected)
        guard case .hello(let hello) = try world.sent().first else { throw LeafTestFailure("no hello") }
        #expect(hello.role == .device && hello.maximumFrameLength == 8188)
        world.send(LeafScript.helloAccept())
        first.poll()
        guard case .enrol(let enrol) = try world.sent().first else { throw LeafTestFailure("no enrol") }
        #expect(world.recordsAtSend.last?.records.contains(.identitySeed) == true, "key stored before enrol is sent")
        let key = try Curve25519.Signing.PublicKey(rawRepresentation: enrol.publicKey)
        #expect(
            key.isValidSignature(
                enrol.signature,
                for: AuthChallenge.enrol(nonce: LeafScript.nonce, publicKey: enrol.publicKey).bytes
            )
        )
        #expect(enrol.token == "tft_0123")
        #expect(
            enrol.capabilities == [
                "arch": "armv7em", "class": "mcu", "flash": "1048576", "ram": "262144", "storage": "1048576",
            ]
        )
        let deviceID = DeviceIdentity.deviceID(forPublicKey: enrol.publicKey)
        let release = ReleaseKey.generate()
        world.send(.welcome(Welcome(deviceID: deviceID, labels: [:], releasePublicKey: release.publicKey)))
        #expect(first.poll() == .welcomed(enrolled: true))
        guard case .stateReport(let report) = try world.sent().first else { throw LeafTestFailure("no stateReport") }
        #expect(report.installedModels.isEmpty && report.capabilities["class"] == "mcu")
        #expect(world.records[.enrolled] == [1] && world.records[.releaseKey] == release.publicKey)

        // A restart: same records, new connection and nonce.
        let second = LeafUnderTest(world: world, inPlace: inPlace)
        #expect(second.leaf.withDeviceID { String(decoding: $0, as: UTF8.self) } == deviceID)
        second.poll()
        _ = try world.sent()
        let nonce = (0..<32).map { UInt8(200 - $0) }
        world.send(LeafScript.helloAccept(nonce: nonce))
        second.poll()
        guard case .authenticate(let authenticate) = try world.sent().first else {
            throw LeafTestFailure("no authenticate")
        }
        #expect(authenticate.deviceID == deviceID && authenticate.nonce == nonce)
        #expect(
            key.isValidSignature(
                authenticate.signature,
                for: AuthChallenge.authenticate(nonce: nonce, deviceID: deviceID).bytes
            )
        )
    }

    /// Only what the pinned release key signed is fetched; the payload must be the manifest's file; an older
    /// release is refused; every refusal is reported and the installed model stays.
    @Test func installsOnlySignedMatchingNewerModels() throws {
        let world = LeafWorld()
        let leaf = LeafUnderTest(world: world)
        let release = ReleaseKey.generate()
        leaf.connect(release: release)
        _ = try world.sent()
        func desire(_ manifest: [UInt8]) throws -> [Message] {
            world.send(
                .desiredState(DesiredState(models: [DesiredModel(model: "digits-mlp", manifest: manifest, reason: "")]))
            )
            leaf.poll()
            return try world.sent()
        }
        func report(_ messages: [Message]) -> ModelReport? {
            messages.compactMap { if case .modelReport(let report) = $0 { report } else { nil } }.first
        }
        let v2 = (0..<2500).map { UInt8(truncatingIfNeeded: $0 * 7) }

        // Signed by another key: refused, nothing fetched.
        let forged = try desire(LeafScript.manifest(2, file: v2, key: .generate()))
        #expect(report(forged)?.code == "bad-signature" && report(forged)?.outcome == .refused)
        #expect(!forged.contains { $0.type == .fetchModel })

        // Signed: fetched in full, checked, installed, reported, and the new state reported.
        let fetch = try desire(LeafScript.manifest(2, file: v2, key: release))
        guard case .fetchModel(let request) = fetch.first else { throw LeafTestFailure("no fetchModel: \(fetch)") }
        #expect(request.version == 2 && request.variant == "int8" && request.baseSHA256.isEmpty)
        for message in LeafScript.transfer(request.requestID, v2) { world.send(message) }
        #expect(leaf.poll() == .installed(version: 2))
        let afterInstall = try world.sent()
        #expect(report(afterInstall)?.outcome == .installed && report(afterInstall)?.wireBytes == v2.count)
        #expect(world.installed == v2)
        let state = afterInstall.compactMap { if case .stateReport(let s) = $0 { s } else { nil } }.first
        #expect(state?.installedModels.map(\.version) == [2])

        // An older release: refused as a rollback.
        #expect(report(try desire(LeafScript.manifest(1, file: v2, key: release)))?.code == "rollback")

        // A newer release whose payload is not the signed file: refused at the end, v2 stays installed.
        let v3 = v2.map { $0 ^ 0x55 }
        let fetch3 = try desire(LeafScript.manifest(3, file: v3, key: release))
        guard case .fetchModel(let request3) = fetch3.first else { throw LeafTestFailure("no fetchModel for v3") }
        for message in LeafScript.transfer(request3.requestID, v2) { world.send(message) }
        #expect(leaf.poll() == .refused(version: 3, code: "hash-mismatch"))
        #expect(report(try world.sent())?.code == "hash-mismatch")
        #expect(leaf.leaf.installed.version == 2 && world.installed == v2)
    }

    /// A payload whose bytes do not match its transferStart hash is not handed to the installer as complete.
    @Test func aPayloadThatDoesNotMatchItsHashIsNotInstalled() throws {
        let world = LeafWorld()
        let leaf = LeafUnderTest(world: world)
        let release = ReleaseKey.generate()
        leaf.connect(release: release)
        let file = Array(repeating: UInt8(3), count: 1500)
        world.send(
            .desiredState(
                DesiredState(models: [
                    DesiredModel(
                        model: "digits-mlp",
                        manifest: try LeafScript.manifest(1, file: file, key: release),
                        reason: ""
                    )
                ])
            )
        )
        leaf.poll()
        guard case .fetchModel(let request) = try world.sent().last else { throw LeafTestFailure("no fetchModel") }
        var messages = LeafScript.transfer(request.requestID, file)
        if case .transferChunk(var chunk) = messages[1] {
            chunk.bytes[10] ^= 1
            messages[1] = .transferChunk(chunk)
        }
        for message in messages { world.send(message) }
        #expect(leaf.poll() == .refused(version: 1, code: "reconstruction-failed"))
        #expect(world.installed.isEmpty && leaf.leaf.installed.isEmpty)
    }

    /// A link that stays silent (a UART whose gateway went away says nothing) is dropped and opened again: after
    /// the coordinator's offline timeout (30 s here) without an answer once online, after 15 s in the handshake.
    @Test func aSilentLinkIsDroppedAndOpenedAgain() throws {
        let world = LeafWorld()
        let leaf = LeafUnderTest(world: world)
        leaf.poll()
        world.now += 14_000
        #expect(leaf.poll() == .none, "still waiting for helloAccept")
        world.now += 2_000
        #expect(leaf.poll() == .disconnected)
        world.now += 60_000
        #expect(leaf.poll() == .connected)
        world.send(LeafScript.helloAccept())
        leaf.poll()
        world.send(.welcome(Welcome(deviceID: "d-0000000000000000", labels: [:], releasePublicKey: [])))
        leaf.poll()
        _ = try world.sent()
        world.now += 10_000
        leaf.poll()
        #expect(try world.sent() == [.heartbeat], "a heartbeat after one interval")
        world.send(.heartbeatAck)
        world.now += 20_000
        #expect(leaf.poll() != .disconnected, "answered within the offline timeout")
        world.now += 30_001
        #expect(leaf.poll() == .disconnected)
    }

    /// A transfer cut halfway resumes on the next connection from the bytes already received (fetchModel names the
    /// payload and the offset), and the install reports where it resumed.
    @Test func aCutTransferResumesFromItsOffset() throws {
        let world = LeafWorld()
        let leaf = LeafUnderTest(world: world)
        let release = ReleaseKey.generate()
        let file = (0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let manifest = try LeafScript.manifest(4, file: file, key: release)
        func connect(_ nonce: UInt8) throws -> FetchModel {
            leaf.connect(release: release, nonce: Array(repeating: nonce, count: 32))
            world.send(
                .desiredState(DesiredState(models: [DesiredModel(model: "digits-mlp", manifest: manifest, reason: "")]))
            )
            leaf.poll()
            let fetches = try world.sent().compactMap { if case .fetchModel(let f) = $0 { f } else { nil } }
            guard let fetch = fetches.last else { throw LeafTestFailure("no fetchModel") }
            return fetch
        }
        let first = try connect(1)
        #expect(first.resumeOffset == 0 && first.resumePayloadSHA256.isEmpty)
        let messages = LeafScript.transfer(first.requestID, file)
        for message in messages.prefix(3) { world.send(message) }  // transferStart and 2000 bytes
        leaf.poll()
        world.closeLink = true
        #expect(leaf.poll() == .disconnected)

        let second = try connect(2)
        #expect(second.resumeOffset == 2000)
        #expect(second.resumePayloadSHA256 == Array(SHA256.hash(data: file)))
        world.send(
            .transferStart(
                TransferStart(
                    requestID: second.requestID,
                    encoding: .full,
                    baseVersion: 0,
                    totalBytes: file.count,
                    payloadSHA256: Array(SHA256.hash(data: file)),
                    offset: 2000
                )
            )
        )
        for start in stride(from: 2000, to: file.count, by: 1000) {
            world.send(
                .transferChunk(
                    TransferChunk(
                        requestID: second.requestID,
                        offset: start,
                        bytes: Array(file[start..<min(start + 1000, file.count)])
                    )
                )
            )
        }
        #expect(leaf.poll() == .installed(version: 4))
        #expect(world.installed == file)
        let report = try world.sent().compactMap { if case .modelReport(let r) = $0 { r } else { nil } }.first
        #expect(report?.resumedFrom == 2000 && report?.wireBytes == file.count)
    }

    /// The installer's own record of what runs (A/B slots) wins over the leaf's at start-up: after a power cut
    /// between the slot switch and the leaf's record, the leaf reports the model that really runs.
    @Test func theInstallersRecordOfWhatRunsWins() throws {
        let world = LeafWorld()
        let sha = [UInt8](repeating: 0xAB, count: 32)
        world.installerModel = sha.withUnsafeBytes { digest in
            Array("digits-mlp".utf8).withUnsafeBytes { name in
                Array("int8".utf8).withUnsafeBytes {
                    TinyInstalledModel(name: name, version: 7, variant: $0, sha256: digest)
                }
            }
        }
        let leaf = LeafUnderTest(world: world)
        leaf.connect(release: .generate())
        let state = try world.sent().compactMap { if case .stateReport(let s) = $0 { s } else { nil } }.first
        #expect(
            state?.installedModels == [InstalledModel(name: "digits-mlp", version: 7, variant: "int8", sha256: sha)]
        )
    }
}

struct LeafTestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
