import FleetLearning
import FleetModelIO
import FleetTrust
import Foundation

/// A model installed on this device, loaded for inference.
public struct LoadedModel: Sendable {
    public let name: String
    public let version: Int
    public let variant: String
    public let sha256: String
    public let mlp: MLP
    /// How the model is kept on disk (`Protocol/AT-REST.md`).
    public let protection: ModelProtection
    /// The `feature-scale` the model file declares, if any (inputs are expected already scaled).
    public let declaredFeatureScale: Float?
    /// How the model file says raw rows are scaled (`feature-scale`: a factor or `auto`), if it says.
    let declaredScaling: InputScaling?

    /// Whether the model file declares how raw rows are scaled.
    public var declaresScaling: Bool { declaredScaling != nil }

    /// A raw row scaled as the model file declares (unchanged when it declares nothing).
    public func scale(_ row: [Float]) -> [Float] {
        declaredScaling?.scaled(row) ?? row
    }

    /// Predicted class and confidence of each row (rows of `mlp.inputCount` model-space features).
    public func predict(_ rows: [[Float]]) throws -> [Prediction] {
        try mlp.predict(rows: rows)
    }
}

/// Why the local interface could not serve a request. `code` is the wire name in `Protocol/LOCAL.md`.
public struct LocalRequestError: Error, Sendable, CustomStringConvertible {
    public let code: String
    public let message: String

    public init(_ code: String, _ message: String) {
        self.code = code
        self.message = message
    }

    public static func badRequest(_ message: String) -> Self { Self("bad-request", message) }
    public static func noModel(_ message: String) -> Self { Self("no-model", message) }
    /// A protected model while the agent holds no model-protection key (`Protocol/AT-REST.md`).
    public static func modelLocked(_ message: String) -> Self { Self("model-locked", message) }

    public var description: String { "\(code): \(message)" }
}

/// The models installed under the data directory (the reference MLP architecture, fp32 or int8), loaded
/// once per installed digest and reloaded when an install replaces `current.safetensors`. Protected models are
/// opened with the keyring's key; without one (no keyring in a process other than the daemon, or the offline
/// lease ran out) they are locked, and a loaded copy is dropped.
public actor InstalledModels {
    public let dataDirectory: String
    private let keyring: ModelKeyring?
    private var cache: [String: LoadedModel] = [:]

    public init(dataDirectory: String, keyring: ModelKeyring? = nil) {
        self.dataDirectory = dataDirectory
        self.keyring = keyring
    }

    /// The installed model called `name`, or the only installed model when `name` is nil.
    public func model(named name: String?) throws(LocalRequestError) -> LoadedModel {
        let chosen = try installedState(named: name)
        if let cached = cache[chosen.model], cached.sha256 == chosen.sha256 {
            guard cached.protection.isSealed, keyring?.key() == nil else { return cached }
            cache[chosen.model] = nil
        }
        let (bytes, protection) = try weights(of: chosen)
        let loaded = try Self.load(chosen, bytes, protection)
        cache[chosen.model] = loaded
        return loaded
    }

    /// The installed model's weights file in plaintext, for an application that runs its own runtime (the
    /// `model` request). Refused for an `agent-only` model, whose weights never leave the agent.
    public func weightsFile(
        named name: String?
    ) throws(LocalRequestError) -> (model: InstalledModelState, protection: ModelProtection, bytes: [UInt8]) {
        let chosen = try installedState(named: name)
        let (bytes, protection) = try weights(of: chosen)
        guard protection != .agentOnly else {
            throw LocalRequestError(
                "agent-only",
                "\(chosen.model) is agent-only: its weights never leave the agent; use \"infer\""
            )
        }
        return (chosen, protection, bytes)
    }

    private func weights(of chosen: InstalledModelState) throws(LocalRequestError) -> ([UInt8], ModelProtection) {
        guard let data = FileManager.default.contents(atPath: chosen.path) else {
            throw .noModel("cannot read \(chosen.path)")
        }
        do {
            return try ModelVault.open(Array(data), model: chosen.model, keyring: keyring)
        } catch let locked as ModelLocked {
            throw .modelLocked(locked.description)
        } catch {
            throw .noModel("\(chosen.model) cannot be opened: \(error)")
        }
    }

    private func installedState(named name: String?) throws(LocalRequestError) -> InstalledModelState {
        let installer = ModelInstaller(dataDirectory: dataDirectory, hash: { _ in [] })
        let installed = installer.installed()
        let chosen: InstalledModelState
        if let name {
            guard let match = installed.first(where: { $0.model == name }) else {
                throw .noModel("no model \(name) installed on this device")
            }
            chosen = match
        } else {
            guard installed.count == 1, let only = installed.first else {
                throw .noModel(
                    installed.isEmpty
                        ? "no model installed yet" : "several models installed: name one with \"model\""
                )
            }
            chosen = only
        }
        return chosen
    }

    private static func load(
        _ chosen: InstalledModelState,
        _ bytes: [UInt8],
        _ protection: ModelProtection
    ) throws(LocalRequestError) -> LoadedModel {
        guard let version = Int(chosen.version) else {
            throw .noModel("installed version \(chosen.version) is not a number")
        }
        do {
            let (mlp, file) = try ModelFile.mlp(bytes)
            return LoadedModel(
                name: chosen.model,
                version: version,
                variant: chosen.variant,
                sha256: chosen.sha256,
                mlp: mlp,
                protection: protection,
                declaredFeatureScale: file.metadata["feature-scale"].flatMap(Float.init),
                declaredScaling: file.metadata["feature-scale"].map(InputScaling.init(metadata:))
            )
        } catch {
            throw .noModel("\(chosen.model) v\(version) is not a supported MLP: \(error)")
        }
    }
}
