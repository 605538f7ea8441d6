import Foundation
import Testing

@testable import FleetTrust

/// The sealed model container (`Protocol/AT-REST.md`, "Sealed model files") and the policy and key it relies on.
@Suite struct SealedModelTests {
    let key = Digest.randomBytes(32)
    let model = (0..<(2 * 65_536 + 77)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 5) }

    @Test func sealedModelsOpenOnlyWithTheirKeyNameAndPolicy() throws {
        let sha = Digest.sha256(model)
        let sealed = try SealedModel.seal(model, model: "digits", sha256: sha, protection: .atRest, key: key)
        #expect(Array(sealed.prefix(4)) == Array("TFSM".utf8))
        #expect(SealedModel.header(of: sealed) == .init(protection: .atRest, sha256: sha))
        #expect(SealedModel.modelDigest(of: sealed) == sha, "the installer identifies it without the key")
        #expect(SealedModel.modelDigest(of: model) == sha)
        let opened = try SealedModel.open(sealed, model: "digits", key: key)
        #expect(opened.plaintext == model)
        #expect(opened.header.protection == .atRest)

        #expect(throws: TrustError.decryptionFailed("")) {
            try SealedModel.open(sealed, model: "digits", key: Digest.randomBytes(32))
        }
        #expect(throws: TrustError.decryptionFailed("")) { try SealedModel.open(sealed, model: "other", key: key) }
        var relabelled = sealed
        relabelled[5] = 2  // at-rest → agent-only, to get the weights handed out or withheld at will
        #expect(throws: TrustError.decryptionFailed("")) { try SealedModel.open(relabelled, model: "digits", key: key) }
        var otherDigest = sealed
        otherDigest[8] ^= 1
        #expect(throws: TrustError.decryptionFailed("")) {
            try SealedModel.open(otherDigest, model: "digits", key: key)
        }
        var flipped = sealed
        flipped[flipped.count - 100] ^= 0x40
        #expect(throws: TrustError.decryptionFailed("")) { try SealedModel.open(flipped, model: "digits", key: key) }
        #expect(throws: TrustError.malformed("")) { try SealedModel.open(model, model: "digits", key: key) }
    }

    @Test func theCiphertextHoldsNoPieceOfThePlaintext() throws {
        let sealed = try SealedModel.seal(
            model,
            model: "digits",
            sha256: Digest.sha256(model),
            protection: .agentOnly,
            key: key
        )
        let data = Data(sealed)
        for offset in stride(from: 0, to: model.count - 32, by: 4_099) {
            #expect(data.range(of: Data(model[offset..<(offset + 32)])) == nil)
        }
    }

    @Test func aSealedModelMustNameTheRightDigest() throws {
        #expect(throws: TrustError.malformed("")) {
            try SealedModel.seal(model, model: "digits", sha256: [1, 2], protection: .atRest, key: key)
        }
        #expect(throws: TrustError.malformed("")) {
            try SealedModel.seal(model, model: "digits", sha256: Digest.sha256(model), protection: .plain, key: key)
        }
        let lying = try SealedModel.seal(
            model,
            model: "digits",
            sha256: Digest.sha256([1]),
            protection: .atRest,
            key: key
        )
        #expect(throws: TrustError.decryptionFailed("")) { try SealedModel.open(lying, model: "digits", key: key) }
    }

    @Test func theProtectionPolicyComesFromTheManifestMetadata() throws {
        #expect(try ModelProtection(metadata: [:]) == .plain)
        #expect(try ModelProtection(metadata: ["protection": "at-rest"]) == .atRest)
        #expect(try ModelProtection(metadata: ["protection": "agent-only"]) == .agentOnly)
        #expect(throws: TrustError.malformed("")) { try ModelProtection(metadata: ["protection": "secret"]) }
    }

    @Test func eachDeviceGetsItsOwnStableKey() {
        let secret = Digest.randomBytes(32)
        let one = DeviceModelKey.derive(coordinatorSecret: secret, deviceID: "d-0000000000000001")
        #expect(one.count == 32)
        #expect(one == DeviceModelKey.derive(coordinatorSecret: secret, deviceID: "d-0000000000000001"))
        #expect(one != DeviceModelKey.derive(coordinatorSecret: secret, deviceID: "d-0000000000000002"))
        #expect(one != DeviceModelKey.derive(coordinatorSecret: Digest.randomBytes(32), deviceID: "d-0000000000000001"))
    }
}
