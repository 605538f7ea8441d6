// Manifests for the TinyManifest tests: signed by FleetTrust as the coordinator signs them, or assembled field by
// field (to break one rule at a time) and signed with the same release key.
import Crypto
import Foundation

@testable import FleetTinyKit
@testable import FleetTrust

enum ManifestFixtures {
    /// A fixed release key, so failures reproduce.
    static let releaseKey = try! ReleaseKey(privateKeyBytes: [UInt8](repeating: 0x42, count: 32))
    static let otherKey = try! ReleaseKey(privateKeyBytes: [UInt8](repeating: 0x43, count: 32))

    static let issuedAt = Date(timeIntervalSince1970: 1_764_000_000.123)

    /// Manifests that cover the encoding: small, Unicode names, every limit, maps with prefix keys, both kinds,
    /// with and without a target device.
    static var samples: [ReleaseManifest] {
        let sha = (0..<32).map { UInt8($0 &* 7 &+ 1) }
        let limits = Dictionary(
            uniqueKeysWithValues: (0..<64).map { index in
                (String(repeating: "k", count: 62) + String(format: "%02d", index), String(repeating: "v", count: 512))
            }
        )
        return [
            ReleaseManifest(
                model: "digits-mlp",
                version: 1,
                variant: "int8",
                size: 52_000,
                sha256: sha,
                issuedAt: issuedAt
            ),
            ReleaseManifest(
                model: "modèle-ß-🙂",
                version: Int(Int32.max),
                variant: "",
                size: Int(Int64.max),
                sha256: sha,
                requirements: ["arch": "armv7em", "min-ram": "65536", "class": "mcu"],
                metadata: ["format": "safetensors", "a": "", "ab": "x", "accuracy": "0.97"],
                issuedAt: Date(timeIntervalSince1970: 253_402_300_799.999),
                kind: .rollback,
                targetDevice: "leaf-7"
            ),
            ReleaseManifest(
                model: String(repeating: "m", count: 128),
                version: 0,
                variant: String(repeating: "v", count: 128),
                size: 0,
                sha256: [UInt8](repeating: 0, count: 32),
                requirements: limits,
                metadata: limits,
                issuedAt: Date(timeIntervalSince1970: 0),
                targetDevice: String(repeating: "d", count: 128)
            ),
        ]
    }

    /// The wire bytes of `manifest` signed with `key` by FleetTrust.
    static func signed(_ manifest: ReleaseManifest, key: ReleaseKey = releaseKey) throws -> [UInt8] {
        try SignedManifest.sign(manifest, with: key).encoded()
    }

    /// `canonical` followed by its signature with `key`, whatever the bytes are (to sign malformed manifests).
    static func signing(_ canonical: [UInt8], key: ReleaseKey = releaseKey) throws -> [UInt8] {
        canonical
            + Array(try Curve25519.Signing.PrivateKey(rawRepresentation: key.privateKeyBytes).signature(for: canonical))
    }

    /// What FleetTrust makes of `bytes`: the manifest it accepts with `key`, or nil.
    static func hostAccepts(_ bytes: [UInt8], key: [UInt8] = releaseKey.publicKey) -> ReleaseManifest? {
        try? SignedManifest(decoding: bytes).verify(publicKey: key)
    }

    /// What the kit makes of `bytes`.
    static func tiny(_ bytes: [UInt8], key: [UInt8] = releaseKey.publicKey) -> Result<TinyManifest, TinyManifestError> {
        bytes.withUnsafeBytes { bytes in
            key.withUnsafeBytes { key in
                Result { () throws(TinyManifestError) in try TinyManifest(verifying: bytes, releaseKey: key) }
            }
        }
    }

    /// Whether the kit's fields of `bytes` are `manifest`'s.
    static func fieldsMatch(_ parsed: TinyManifest, _ bytes: [UInt8], _ manifest: ReleaseManifest) -> Bool {
        bytes.withUnsafeBytes { raw in
            func text(_ range: TinyByteRange) -> String { String(decoding: range.slice(of: raw), as: UTF8.self) }
            func lookup(_ key: String, _ map: TinyByteRange) -> String? {
                Array(key.utf8).withUnsafeBytes { key in
                    TinyManifest.value(forKey: key, in: map, of: raw).map(text)
                }
            }
            func mapMatches(_ map: TinyByteRange, _ expected: [String: String]) -> Bool {
                expected.allSatisfy { lookup($0.key, map) == $0.value } && lookup("absent-key", map) == nil
            }
            return text(parsed.model) == manifest.model && Int(parsed.version) == manifest.version
                && text(parsed.variant) == manifest.variant && Int(parsed.size) == manifest.size
                && CryptoTestBytes.bytes(parsed.sha256) == manifest.sha256
                && mapMatches(parsed.requirements, manifest.requirements)
                && mapMatches(parsed.metadata, manifest.metadata)
                && Int64(parsed.issuedAtMilliseconds) == Milliseconds.from(manifest.issuedAt)
                && (parsed.kind == .release) == (manifest.kind == .release)
                && parsed.targetDevice.map(text) == manifest.targetDevice
        }
    }
}

/// A manifest's canonical bytes field by field, each already encoded, so a test can break exactly one.
struct ManifestParts {
    var prefix = Array("tinyfleet-v1 manifest\0".utf8)
    var model = Self.string("digits-mlp")
    var version = Self.varint(3)
    var variant = Self.string("int8")
    var size = Self.varint(52_000)
    var sha256 = [UInt8](repeating: 0xAB, count: 32)
    var requirements = Self.varint(0)
    var metadata = Self.varint(0)
    var issuedAt = Self.varint(UInt64(Milliseconds.from(ManifestFixtures.issuedAt)))
    var kind: [UInt8] = [0]
    var targetDevice: [UInt8] = [0]

    var bytes: [UInt8] {
        prefix + model + version + variant + size + sha256 + requirements + metadata + issuedAt + kind + targetDevice
    }

    /// The same manifest as FleetTrust builds it.
    static var hostEquivalent: ReleaseManifest {
        ReleaseManifest(
            model: "digits-mlp",
            version: 3,
            variant: "int8",
            size: 52_000,
            sha256: [UInt8](repeating: 0xAB, count: 32),
            issuedAt: ManifestFixtures.issuedAt
        )
    }

    static func varint(_ value: UInt64) -> [UInt8] {
        var writer = CanonicalWriter(prefix: "")
        writer.varint(value)
        return writer.bytes
    }

    static func string(_ value: String) -> [UInt8] { string(Array(value.utf8)) }
    static func string(_ utf8: [UInt8]) -> [UInt8] { varint(UInt64(utf8.count)) + utf8 }

    /// A map written as given: entries in this order, repeats kept.
    static func map(_ entries: [(String, String)]) -> [UInt8] {
        varint(UInt64(entries.count)) + entries.flatMap { string($0.0) + string($0.1) }
    }
}
