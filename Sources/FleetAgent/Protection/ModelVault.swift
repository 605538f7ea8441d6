import FleetTrust

/// The agent's one way to store and read installed models whatever their protection (`Protocol/AT-REST.md`):
/// a plain model is stored as is; a protected one is sealed under the device's model key before it reaches the
/// installer, and opened (authenticated and hashed) in memory when the agent needs its weights.
struct ModelVault: Sendable {
    let installer: ModelInstaller
    let keyring: ModelKeyring

    init(dataDirectory: String, keyring: ModelKeyring) {
        self.installer = .agent(dataDirectory: dataDirectory)
        self.keyring = keyring
    }

    /// What to hand the installer for a verified model file: the file itself, or its sealed form.
    func storedForm(
        of plaintext: [UInt8],
        model: String,
        sha256: [UInt8],
        protection: ModelProtection
    ) throws -> [UInt8] {
        guard protection.isSealed else { return plaintext }
        guard let key = keyring.key() else { throw ModelLocked(model: model, reason: keyring.lockedReason) }
        return try SealedModel.seal(plaintext, model: model, sha256: sha256, protection: protection, key: key)
    }

    /// The installed model's weights file in plaintext (in memory), with its protection.
    func plaintext(model: String) throws -> (bytes: [UInt8], protection: ModelProtection) {
        try Self.open(try installer.currentBytes(model: model), model: model, keyring: keyring)
    }

    /// Opens stored bytes read from `models/NAME/current.safetensors`.
    static func open(
        _ stored: [UInt8],
        model: String,
        keyring: ModelKeyring?
    ) throws -> (bytes: [UInt8], protection: ModelProtection) {
        guard SealedModel.header(of: stored) != nil else { return (stored, .plain) }
        guard let keyring, let key = keyring.key() else {
            throw ModelLocked(
                model: model,
                reason: keyring?.lockedReason ?? "only the running agent holds the key (ask its local socket)"
            )
        }
        let (plaintext, header) = try SealedModel.open(stored, model: model, key: key)
        return (plaintext, header.protection)
    }
}

/// A protected model cannot be opened: the agent holds no model-protection key right now.
public struct ModelLocked: Error, CustomStringConvertible, Sendable {
    public var model: String
    public var reason: String

    public var description: String {
        "\(model) is protected and locked: \(reason); it opens again once the agent reaches the coordinator"
    }
}

extension ModelInstaller {
    /// The agent's installer: files are identified by the SHA-256 of the model they hold, which a sealed model
    /// carries in its header (so crash recovery works without the key).
    static func agent(dataDirectory: String) -> ModelInstaller {
        ModelInstaller(dataDirectory: dataDirectory, hash: { SealedModel.modelDigest(of: $0) })
    }
}
