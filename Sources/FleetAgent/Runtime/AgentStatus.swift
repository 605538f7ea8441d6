import FleetStore
import FleetTrust
import Foundation

/// `fleet-agent status`: read from the agent's data directory only (works while the daemon runs or not).
/// Field names of the JSON form are a contract with users' scripts.
public struct AgentStatus: Codable, Sendable {
    public struct Installed: Codable, Sendable {
        public var model: String
        public var version: Int
        public var variant: String
        /// The stable path applications read the model from.
        public var path: String
        public var sha256: String
        public var size: Int
        public var installedAt: String
        public var previousVersion: Int?
    }

    public struct Desired: Codable, Sendable {
        public var model: String
        public var version: Int?
        public var variant: String?
        public var reason: String
    }

    public struct Transfer: Codable, Sendable {
        public var model: String
        public var version: Int
        public var variant: String
        public var encoding: String
        public var receivedBytes: Int
        public var totalBytes: Int
        public var startedAt: String
    }

    public var deviceID: String?
    public var coordinator: String?
    public var installed: [Installed]
    public var desired: [Desired]
    public var transfers: [Transfer]

    public static func read(dataDirectory: String) async throws -> AgentStatus {
        let path = dataDirectory + "/agent.sqlite"
        guard FileManager.default.fileExists(atPath: path) else {
            throw AgentError(
                "no agent state in \(dataDirectory): start fleet-agent with --data-dir \(dataDirectory) first"
            )
        }
        let state = AgentStateStore(store: try AgentStore.openReadOnly(path: path))
        let hash: ModelHashFunction = { Digest.sha256($0) }
        let installer = ModelInstaller.agent(dataDirectory: dataDirectory)
        let journal = TransferJournal(dataDirectory: dataDirectory, hash: hash)
        let format = ISO8601DateFormatter()
        return AgentStatus(
            deviceID: try await state.enrolledDeviceID(),
            coordinator: try await state.savedCoordinators()?.description,
            installed: installer.installed().map {
                Installed(
                    model: $0.model,
                    version: Int($0.version) ?? 0,
                    variant: $0.variant,
                    path: $0.path,
                    sha256: $0.sha256,
                    size: $0.size,
                    installedAt: format.string(from: $0.installedAt),
                    previousVersion: $0.previous.flatMap { Int($0.version) }
                )
            },
            desired: try await state.desired().map {
                Desired(model: $0.model, version: $0.version, variant: $0.variant, reason: $0.reason)
            },
            transfers: journal.allInProgress().map {
                Transfer(
                    model: $0.model,
                    version: Int($0.descriptor.version) ?? 0,
                    variant: $0.descriptor.variant,
                    encoding: $0.descriptor.encoding.rawValue,
                    receivedBytes: $0.receivedBytes,
                    totalBytes: $0.descriptor.totalBytes,
                    startedAt: format.string(from: $0.startedAt)
                )
            }
        )
    }

    public func jsonString() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    public func humanReadable() -> String {
        var lines = [
            "Device:      \(deviceID ?? "not enrolled")", "Coordinator: \(coordinator ?? "unknown")", "Installed:",
        ]
        lines +=
            installed.isEmpty
            ? ["  none"]
            : installed.map {
                "  \($0.model) v\($0.version) \($0.variant)  \($0.path)  sha256:\($0.sha256.prefix(12))"
                    + ($0.previousVersion.map { "  (previous v\($0))" } ?? "")
            }
        lines.append("Should run:")
        lines +=
            desired.isEmpty
            ? ["  nothing assigned yet"]
            : desired.map {
                "  \($0.model) " + ($0.version.map { "v\($0) " } ?? "none ") + ($0.variant ?? "") + " — \($0.reason)"
            }
        lines.append("Transfers:")
        lines +=
            transfers.isEmpty
            ? ["  none in progress"]
            : transfers.map {
                "  \($0.model) v\($0.version) \($0.variant) (\($0.encoding)): \($0.receivedBytes)/\($0.totalBytes) bytes"
            }
        return lines.joined(separator: "\n")
    }
}
