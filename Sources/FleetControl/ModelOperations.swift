import FleetClient
import FleetCoordinator
import FleetStore
import FleetTrust
import FleetWire
import Foundation

/// A model variant as `fleetctl models --json` / `fleetctl model show --json` print it.
public struct ModelVariantView: Codable, Sendable, Equatable {
    public var model: String
    public var version: Int
    public var variant: String
    public var size: Int
    public var sha256: String
    public var accuracy: Double?
    public var requirements: [String: String]
    public var metadata: [String: String]
    public var createdAt: String
    /// Devices whose desired state names this version and variant.
    public var assignedDevices: Int
    /// Devices that report running it.
    public var runningDevices: Int
}

extension FleetInspector {
    public func models() async throws -> [ModelSummaryView] {
        try await ModelSummaryView.all(in: await requireLocalStore("models"))
    }

    public func model(named name: String) async throws -> [ModelVariantView] {
        let store = try await requireLocalStore("model show")
        let variants = try await store.modelVariants(model: name)
        guard !variants.isEmpty else { throw ControlError("no model \"\(name)\": `fleetctl models` lists them") }
        let assignments = try await store.assignments(model: name)
        let devices = try await store.devices()
        return variants.map { variant in
            ModelVariantView(
                model: variant.model,
                version: variant.version,
                variant: variant.variant,
                size: variant.size,
                sha256: Digest.hex(variant.sha256),
                accuracy: variant.accuracy,
                requirements: variant.requirements,
                metadata: variant.metadata,
                createdAt: ISO8601.string(variant.createdAt),
                assignedDevices: assignments.filter { $0.version == variant.version && $0.variant == variant.variant }
                    .count,
                runningDevices: devices.filter { device in
                    device.installedModels.contains { $0.name == name && $0.sha256 == variant.sha256 }
                }.count
            )
        }
    }

    /// Uploads one variant in chunks through the admin protocol, reporting progress as bytes sent, and commits it
    /// with its reference statistics (a package from `referencePackage`, or none). With `assign` false
    /// (`--no-assign`), the version is held first: no device is assigned it until a rollout does.
    public func pushModel(
        name: String,
        version: Int,
        variant: String,
        file: String,
        requirements: [String: String],
        metadata: [String: String],
        referenceStatistics: [UInt8] = [],
        assign: Bool = true,
        progress: @Sendable (Int, Int) -> Void
    ) async throws -> PushView {
        do {
            _ = try ModelProtection(metadata: metadata)
        } catch {
            throw ControlError("--protection: \(error.detail)")
        }
        guard let data = FileManager.default.contents(atPath: file) else { throw ControlError("cannot read \(file)") }
        let bytes = Array(data)
        let sha256 = Digest.sha256(bytes)
        return try await target.withAdminConnection { connection in
            if !assign {
                let held = try await connection.request(
                    .holdVersion(HoldVersion(requestID: 1, model: name, version: version))
                )
                guard case .ack = held else { throw FleetClientError.unexpected(held) }
            }
            let ready = try await connection.request(
                .uploadBegin(
                    UploadBegin(
                        requestID: 1,
                        model: name,
                        version: version,
                        variant: variant,
                        size: bytes.count,
                        sha256: sha256,
                        requirements: requirements,
                        metadata: metadata
                    )
                )
            )
            guard case .uploadReady(let upload) = ready else { throw FleetClientError.unexpected(ready) }
            // Chunks fit the frame limit the coordinator agreed to (its --max-frame), with room for the header.
            let chunkSize = max(1024, min(256 * 1024, connection.maximumFrameLength - 512))
            var offset = upload.offset
            var requestID: UInt64 = 2
            progress(offset, bytes.count)
            while offset < bytes.count {
                let end = min(offset + chunkSize, bytes.count)
                let reply = try await connection.request(
                    .uploadChunk(
                        UploadChunk(
                            requestID: requestID,
                            uploadID: upload.uploadID,
                            offset: offset,
                            bytes: Array(bytes[offset..<end])
                        )
                    )
                )
                guard case .ack = reply else { throw FleetClientError.unexpected(reply) }
                offset = end
                requestID += 1
                progress(offset, bytes.count)
            }
            let pushed = try await connection.request(
                .uploadCommit(
                    UploadCommit(
                        requestID: requestID,
                        uploadID: upload.uploadID,
                        referenceStatistics: referenceStatistics
                    )
                )
            )
            guard case .modelPushed(let result) = pushed else { throw FleetClientError.unexpected(pushed) }
            return PushView(pushed: result, size: bytes.count, sha256: sha256)
        }
    }

    public func transfers(deviceID: String?, model: String?) async throws -> [TransferRecord] {
        try await requireLocalStore("transfers").transfers(deviceID: deviceID, model: model)
    }

    public func assignments(deviceID: String) async throws -> [ModelAssignment] {
        try await requireLocalStore("device assignments").assignments(deviceID: deviceID)
    }

    func requireLocalStore(_ command: String) async throws -> CoordinatorStore {
        guard let store = try await target.localStore() else {
            throw ControlError(
                "`fleetctl \(command)` reads the coordinator's state: run it on the coordinator's host with --data-dir DIR"
            )
        }
        return store
    }
}

extension FleetInspector {
    /// Pins a model version for one device (or every device when `deviceID` is nil); version 0 unpins.
    public func pin(model: String, version: Int, deviceID: String?, rollback: Bool) async throws {
        try await target.withAdminConnection { connection in
            let reply = try await connection.request(
                .pinModel(
                    PinModel(requestID: 1, model: model, deviceID: deviceID ?? "", version: version, rollback: rollback)
                )
            )
            guard case .ack = reply else { throw FleetClientError.unexpected(reply) }
        }
    }
}
