import Foundation

/// What an agent has installed for a model: enough to judge the next manifest.
public struct InstalledVersion: Sendable, Hashable, Codable {
    public var model: String
    public var version: Int
    /// The `issuedAt` of the manifest (release or rollback directive) that was installed.
    public var issuedAt: Date
    /// The `issuedAt` of the newest rollback directive ever accepted for this model (a persisted high-water mark):
    /// a directive must be newer, so one that was carried out and then undone cannot be replayed.
    public var newestDirective: Date?

    public init(model: String, version: Int, issuedAt: Date, newestDirective: Date? = nil) {
        self.model = model
        self.version = version
        self.issuedAt = issuedAt
        self.newestDirective = newestDirective
    }

    /// The installed state after accepting `manifest`.
    public init(installing manifest: ReleaseManifest) {
        self.init(model: manifest.model, version: manifest.version, issuedAt: manifest.issuedAt)
    }
}

/// The agent's decision on a signed manifest, as a pure function of the manifest, the pinned key and local state.
///
/// Checks, in order: signature by the pinned release key; the model (when the agent is bound to one); the target
/// device; then the version rule:
/// - `.release`: refused when its version is lower than the installed one (equal is a reinstall and allowed);
/// - `.rollback`: only valid when something is installed, the directive's version is lower, and the directive was
///   issued after the installed manifest and after every directive accepted before
///   (``InstalledVersion/newestDirective``), so an old directive cannot be replayed after a later upgrade, nor
///   after the rollback it ordered was undone.
/// Finally, when `blobSHA256` is given (after download), it must equal the manifest's hash. Pass nil to check a
/// manifest before downloading its blob.
public struct InstallPolicy: Sendable {
    /// This agent's device id, compared with ``ReleaseManifest/targetDevice``.
    public var deviceID: String
    /// The model this agent runs, or nil to accept any model name.
    public var model: String?

    public init(deviceID: String, model: String? = nil) {
        self.deviceID = deviceID
        self.model = model
    }

    public func check(
        manifest signed: SignedManifest,
        releaseKey: [UInt8],
        installed: InstalledVersion?,
        blobSHA256: [UInt8]?
    ) -> Result<ReleaseManifest, InstallRefusal> {
        let manifest: ReleaseManifest
        do {
            manifest = try signed.verify(publicKey: releaseKey)
        } catch {
            return .failure(.badSignature("manifest refused: \(error.detail)"))
        }
        let expectedModel = model ?? installed?.model
        if let expectedModel, manifest.model != expectedModel {
            return .failure(.wrongModel("manifest is for model \(manifest.model), this agent runs \(expectedModel)"))
        }
        if let target = manifest.targetDevice, target != deviceID {
            return .failure(.wrongDevice("manifest targets device \(target), this is \(deviceID)"))
        }
        if let refusal = versionRefusal(manifest, installed: installed) {
            return .failure(refusal)
        }
        if let blobSHA256, blobSHA256 != manifest.sha256 {
            return .failure(
                .hashMismatch(
                    "blob SHA-256 \(Digest.hex(blobSHA256)) differs from the manifest's \(Digest.hex(manifest.sha256))"
                )
            )
        }
        return .success(manifest)
    }

    private func versionRefusal(_ manifest: ReleaseManifest, installed: InstalledVersion?) -> InstallRefusal? {
        switch manifest.kind {
        case .release:
            guard let installed, manifest.version < installed.version else { return nil }
            return .rollback(installed: installed.version, offered: manifest.version)
        case .rollback:
            guard let installed else {
                return .invalidRollback("rollback directive to v\(manifest.version), but nothing is installed")
            }
            guard manifest.version < installed.version else {
                return .invalidRollback(
                    "rollback directive to v\(manifest.version) is not below installed v\(installed.version)"
                )
            }
            guard manifest.issuedAt > installed.issuedAt else {
                return .staleDirective(
                    "rollback directive issued \(manifest.issuedAt) predates installed manifest \(installed.issuedAt)"
                )
            }
            if let newest = installed.newestDirective, manifest.issuedAt <= newest {
                return .staleDirective(
                    "rollback directive issued \(manifest.issuedAt) is not newer than the last directive accepted "
                        + "for \(manifest.model) (\(newest)): a replay"
                )
            }
            return nil
        }
    }
}
