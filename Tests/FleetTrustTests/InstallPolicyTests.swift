import Foundation
import Testing

@testable import FleetTrust

private let key = ReleaseKey.generate()
private let policy = InstallPolicy(deviceID: "d-01", model: "digits-mlp")
private let t0 = Date(timeIntervalSince1970: 1_700_000_000)

private func signed(
    version: Int,
    kind: ReleaseManifest.Kind = .release,
    model: String = "digits-mlp",
    target: String? = nil,
    issuedAt: Date = t0
) throws -> SignedManifest {
    let manifest = ReleaseManifest(
        model: model,
        version: version,
        variant: "int8",
        size: 10,
        sha256: Digest.sha256([UInt8(version)]),
        issuedAt: issuedAt,
        kind: kind,
        targetDevice: target
    )
    return try SignedManifest.sign(manifest, with: key)
}

@Test func acceptsNewerReleaseWithMatchingBlob() throws {
    let installed = InstalledVersion(model: "digits-mlp", version: 2, issuedAt: t0)
    let result = policy.check(
        manifest: try signed(version: 3),
        releaseKey: key.publicKey,
        installed: installed,
        blobSHA256: Digest.sha256([3])
    )
    #expect(try result.get().version == 3)
}

@Test func refusesEachViolationWithItsCode() throws {
    let installed = InstalledVersion(model: "digits-mlp", version: 5, issuedAt: t0)
    func refusal(_ manifest: SignedManifest, blob: [UInt8]? = nil, pinned: [UInt8] = key.publicKey) -> InstallRefusal? {
        if case .failure(let error) = policy.check(
            manifest: manifest,
            releaseKey: pinned,
            installed: installed,
            blobSHA256: blob
        ) {
            return error
        }
        return nil
    }
    #expect(refusal(try signed(version: 6), pinned: ReleaseKey.generate().publicKey) == .badSignature())
    #expect(refusal(try signed(version: 6), blob: Digest.sha256([7])) == .hashMismatch())
    #expect(refusal(try signed(version: 4)) == .rollback(installed: 5, offered: 4))
    #expect(refusal(try signed(version: 6, model: "kws")) == .wrongModel())
    #expect(refusal(try signed(version: 6, target: "d-02")) == .wrongDevice())
    #expect(refusal(try signed(version: 6, kind: .rollback, issuedAt: t0 + 60)) == .invalidRollback())
    #expect(refusal(try signed(version: 4, kind: .rollback, issuedAt: t0 - 60)) == .staleDirective())
    #expect(refusal(try signed(version: 4, kind: .rollback, issuedAt: t0 + 60)) == nil)
    #expect(refusal(try signed(version: 5)) == nil, "reinstalling the same version is allowed")
    #expect(refusal(try signed(version: 6, target: "d-01")) == nil)
    #expect(InstallRefusal.rollback(installed: 5, offered: 4).message.contains("lower than installed version 5"))
}

@Test func replayedRollbackDirectiveIsRefusedAfterUpgrade() throws {
    var installed = InstalledVersion(model: "digits-mlp", version: 5, issuedAt: t0)
    let directive = try signed(version: 3, kind: .rollback, issuedAt: t0 + 10)
    let accepted = try policy.check(
        manifest: directive,
        releaseKey: key.publicKey,
        installed: installed,
        blobSHA256: nil
    )
    .get()
    installed = InstalledVersion(installing: accepted)
    let upgrade = try signed(version: 6, issuedAt: t0 + 20)
    installed = InstalledVersion(
        installing: try policy.check(
            manifest: upgrade,
            releaseKey: key.publicKey,
            installed: installed,
            blobSHA256: nil
        )
        .get()
    )
    let replay = policy.check(manifest: directive, releaseKey: key.publicKey, installed: installed, blobSHA256: nil)
    #expect(throws: InstallRefusal.staleDirective()) { try replay.get() }
}

@Test func refusesADirectiveNotNewerThanTheNewestAccepted() throws {
    // v5 was reinstalled by a release issued at t0 after a directive of t0 + 120 had been carried out.
    let installed = InstalledVersion(model: "digits-mlp", version: 5, issuedAt: t0, newestDirective: t0 + 120)
    func check(_ issuedAt: Date) throws -> Result<ReleaseManifest, InstallRefusal> {
        policy.check(
            manifest: try signed(version: 4, kind: .rollback, target: "d-01", issuedAt: issuedAt),
            releaseKey: key.publicKey,
            installed: installed,
            blobSHA256: nil
        )
    }
    #expect(throws: InstallRefusal.staleDirective()) { try check(t0 + 120).get() }
    #expect(throws: InstallRefusal.staleDirective()) { try check(t0 + 60).get() }
    #expect(try check(t0 + 180).get().version == 4)
}
