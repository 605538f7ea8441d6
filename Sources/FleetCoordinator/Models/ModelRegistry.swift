import FleetDelta
import FleetModelIO
import FleetObserve
import FleetStore
import FleetTrust
import FleetWire
import Foundation
import Logging

/// The coordinator's model delivery: publishing pushed variants (signed manifests, content-addressed blobs),
/// deciding what each device should run, and preparing the smallest payload to get it there.
struct ModelRegistry: Sendable {
    let store: CoordinatorStore
    let blobs: BlobStore
    let releaseKey: ReleaseKey
    let uploads: UploadSessions
    let connections: ConnectionRegistry
    let logger: Logger
    /// Versions kept per model beyond those devices still run (0 keeps everything).
    var keepVersions = 10
    /// The most bytes of computed payloads (compressed full files and deltas) kept on disk; the oldest go first.
    var payloadCacheBytes = 1 << 30
    /// The largest base plus target, in bytes, a delta is computed for: the delta codec holds both files in
    /// memory. Larger pairs get the compressed full file, which is computed as a stream in bounded memory.
    var maximumDeltaInputBytes = 512 << 20
    /// Payload computations in progress, shared by concurrent fetches of the same (base, target).
    let builds = PayloadBuilds()
    private let selector = VariantSelector()

    init(
        store: CoordinatorStore,
        blobDirectory: String,
        releaseKey: ReleaseKey,
        connections: ConnectionRegistry,
        logger: Logger
    ) {
        self.store = store
        self.blobs = BlobStore(dataDirectory: blobDirectory)
        self.releaseKey = releaseKey
        // Uploads finish with a rename into the blobs, so they are written beside them (one file system).
        self.uploads = UploadSessions(dataDirectory: blobDirectory)
        self.connections = connections
        self.logger = logger
    }

    // MARK: Publishing

    /// Stores a finished upload, signs its manifest, and pushes the new desired state to online devices.
    /// Everything is checked (size, hash, format, reference statistics) before anything is published; a failed
    /// commit deletes the upload and publishes nothing, so the same push can be retried.
    func publish(_ commit: UploadCommit) async throws -> ModelPushed {
        let (begin, path) = try await uploads.finish(commit)
        var statistics: [UInt8]?
        if !commit.referenceStatistics.isEmpty {
            do {
                _ = try ReferencePackage(decoding: commit.referenceStatistics)
            } catch {
                try? FileManager.default.removeItem(atPath: path)
                throw ErrorMessage(
                    requestID: commit.requestID,
                    code: .badRequest,
                    message: "\(begin.model) v\(begin.version) \(begin.variant) refused, nothing published: "
                        + "reference statistics: \(error.detail)"
                )
            }
            statistics = commit.referenceStatistics
        }
        return try await publish(begin, file: path, requestID: commit.requestID, referenceStatistics: statistics)
    }

    /// Publishes weights made by the coordinator itself (a seeded initialisation, an aggregated round). A version
    /// that names no protection policy keeps the one of the model's newest version (`Protocol/AT-REST.md`), so a
    /// round's global and regional variants of a protected model stay protected.
    func publishGenerated(
        model: String,
        version: Int,
        variant: String,
        bytes: [UInt8],
        requirements: [String: String],
        metadata given: [String: String],
        replan: Bool = true
    ) async throws -> ModelPushed {
        var metadata = given
        if metadata[ModelProtection.metadataKey] == nil,
            let newest = try await store.modelVariants(model: model).max(by: { $0.version < $1.version }),
            let protection = newest.metadata[ModelProtection.metadataKey]
        {
            metadata[ModelProtection.metadataKey] = protection
        }
        let temporary = blobs.root + "/uploads/generated-\(UUID().uuidString.prefix(8)).part"
        try FileManager.default.createDirectory(atPath: blobs.root + "/uploads", withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: temporary, contents: Data(bytes)) else {
            throw CoordinatorError.dataDirectory("cannot write \(temporary)")
        }
        let begin = UploadBegin(
            requestID: 0,
            model: model,
            version: version,
            variant: variant,
            size: bytes.count,
            sha256: Digest.sha256(bytes),
            requirements: requirements,
            metadata: metadata
        )
        return try await publish(begin, file: temporary, requestID: 0, replan: replan)
    }

    /// Re-plans every device for `model` (after publishing several variants with `replan: false`).
    func replan(model: String) async throws {
        _ = try await replanAll(model: model)
        try await prune(model: model)
    }

    private func publish(
        _ begin: UploadBegin,
        file path: String,
        requestID: UInt64,
        replan: Bool = true,
        referenceStatistics: [UInt8]? = nil
    ) async throws -> ModelPushed {
        try await checkFormat(begin, file: path, requestID: requestID)
        let relative = try blobs.adopt(file: path, sha256: begin.sha256)
        let manifest = ReleaseManifest(
            model: begin.model,
            version: begin.version,
            variant: begin.variant,
            size: begin.size,
            sha256: begin.sha256,
            requirements: begin.requirements,
            metadata: begin.metadata,
            issuedAt: Date()
        )
        let signed = try SignedManifest.sign(manifest, with: releaseKey)
        do {
            _ = try await store.addModelVariant(
                NewModelVariant(
                    model: begin.model,
                    version: begin.version,
                    variant: begin.variant,
                    size: begin.size,
                    sha256: begin.sha256,
                    blobPath: relative,
                    requirements: begin.requirements,
                    metadata: begin.metadata,
                    signedManifest: try signed.encoded(),
                    createdAt: Date()
                ),
                referenceStatistics: referenceStatistics
            )
        } catch let error as StoreError where error == .versionNotIncreasing || error == .duplicate {
            let latest = (try? await store.latestVersion(model: begin.model)) ?? nil
            let hint = latest.map { " (the newest is v\($0); push v\($0 + 1))" } ?? ""
            let text =
                error == .duplicate
                ? "\(begin.model) v\(begin.version) \(begin.variant) already exists\(hint)"
                : "\(begin.model) v\(begin.version) is lower than the newest version\(hint)"
            throw ErrorMessage(requestID: requestID, code: .conflict, message: text)
        }
        logger.info(
            "model published",
            metadata: ["model": "\(begin.model)", "version": "\(begin.version)", "variant": "\(begin.variant)"]
        )
        try await releaseHolds(after: begin)
        var assigned: [ModelAssignment] = []
        if replan {
            assigned = try await replanAll(model: begin.model)
            try await prune(model: begin.model)
        }
        return ModelPushed(
            requestID: requestID,
            model: begin.model,
            version: begin.version,
            variant: begin.variant,
            assignedDevices: assigned.filter { $0.version == begin.version && $0.variant == begin.variant }.count
        )
    }

    /// Refuses (and deletes) a file that is not a model of its declared format, and an opaque file for a model
    /// that has safetensors versions: applications that load the safetensors model could not load it.
    private func checkFormat(_ begin: UploadBegin, file path: String, requestID: UInt64) async throws {
        let label = "\(begin.model) v\(begin.version) \(begin.variant)"
        let format: ModelFormat
        do {
            format = try ModelFormat(metadata: begin.metadata)
            try format.validate(fileAt: path)
        } catch {
            try? FileManager.default.removeItem(atPath: path)
            throw ErrorMessage(
                requestID: requestID,
                code: .badRequest,
                message: "\(label) refused, nothing published: \(error); push a safetensors file, "
                    + "or pass --format opaque for another model format"
            )
        }
        for existing in try await store.modelVariants(model: begin.model) {
            let installed = (try? ModelFormat(metadata: existing.metadata)) ?? .safetensors
            guard !format.mayReplace(installed) else { continue }
            try? FileManager.default.removeItem(atPath: path)
            throw ErrorMessage(
                requestID: requestID,
                code: .conflict,
                message: "\(label) refused: \(begin.model) is a \(installed.rawValue) model (v\(existing.version) "
                    + "\(existing.variant)), which a \(format.rawValue) file cannot replace; push it under another name"
            )
        }
    }

    // MARK: Retention

    /// Keeps the newest `keepVersions` versions of a model plus every version a device runs or is assigned;
    /// removes the rest, their blobs (when no other variant uses them) and their cached payloads.
    func prune(model: String) async throws {
        guard keepVersions > 0 else { return }
        let removed = try await store.pruneModelVersions(model: model, keep: keepVersions)
        for record in removed where try await store.modelVariant(sha256: record.sha256) == nil {
            try? FileManager.default.removeItem(atPath: blobs.absolute(record.blobPath))
            for cached in try await store.removeCachedDeltas(involvingSHA256: record.sha256) {
                try? FileManager.default.removeItem(atPath: blobs.absolute(cached.path))
            }
        }
        if !removed.isEmpty {
            logger.info("pruned old versions", metadata: ["model": "\(model)", "variants": "\(removed.count)"])
        }
    }

    // MARK: Desired state

    /// Decides, for every model, what `device` should run; records it and returns the message to send.
    func desiredState(for device: DeviceRecord) async throws -> DesiredState {
        var desired: [DesiredModel] = []
        for summary in try await store.models() {
            let (assignment, manifest) = try await plan(model: summary.name, device: device)
            desired.append(DesiredModel(model: summary.name, manifest: manifest, reason: assignment.reason))
        }
        return DesiredState(models: desired)
    }

    private func plan(model: String, device: DeviceRecord) async throws -> (ModelAssignment, [UInt8]) {
        let variants = try await store.modelVariants(model: model)
        let pin = try await store.pin(deviceID: device.id, model: model)
        let planned = try await plannedVersion(model: model, deviceID: device.id, versions: variants.map(\.version))
        let latest = planned.version
        let target = pin.map { pin in variants.contains { $0.version == pin.version } ? pin.version : latest } ?? latest
        let only = target == planned.version ? planned.variant : nil
        let candidates = variants.filter { $0.version == target && (only == nil || only == $0.variant) }.map(
            \.candidate
        )
        let running = device.installedModels.first { $0.name == model }?.variant
        let choice = selector.choose(
            from: candidates,
            capabilities: device.capabilities,
            labels: device.labels,
            current: running
        )
        let pinned = pin.map { "pinned to v\($0.version)\($0.rollback ? " (rollback)" : ""); " } ?? ""
        let assignment = ModelAssignment(
            deviceID: device.id,
            model: model,
            version: choice.candidate?.version,
            variant: choice.candidate?.variant,
            reason: pinned + choice.reason,
            updatedAt: Date()
        )
        try await store.setAssignment(assignment)
        guard let candidate = choice.candidate,
            let record = variants.first(where: { $0.version == candidate.version && $0.variant == candidate.variant })
        else { return (assignment, []) }
        let installedVersion = device.installedModels.first { $0.name == model }?.version ?? 0
        if let pin, pin.rollback, candidate.version < installedVersion {
            return (assignment, try rollbackDirective(for: record, device: device.id, issuedAt: pin.pinnedAt))
        }
        return (assignment, record.signedManifest)
    }

    /// A separately signed directive that lets one device go back to an older version. Deterministic (Ed25519
    /// signatures are), so re-planning sends the same bytes.
    private func rollbackDirective(for record: ModelVariantRecord, device: String, issuedAt: Date) throws -> [UInt8] {
        let manifest = ReleaseManifest(
            model: record.model,
            version: record.version,
            variant: record.variant,
            size: record.size,
            sha256: record.sha256,
            requirements: record.requirements,
            metadata: record.metadata,
            issuedAt: issuedAt,
            kind: .rollback,
            targetDevice: device
        )
        return try SignedManifest.sign(manifest, with: releaseKey).encoded()
    }

    /// Pins (or, with version 0, unpins) a model for one device or all, then re-plans.
    func pin(_ request: PinModel) async throws {
        let deviceID = request.deviceID.isEmpty ? ModelPin.everyDevice : request.deviceID
        guard try await store.latestVersion(model: request.model) != nil else {
            throw ErrorMessage(requestID: request.requestID, code: .notFound, message: "no model \(request.model)")
        }
        if deviceID != ModelPin.everyDevice, try await store.device(id: deviceID) == nil {
            throw ErrorMessage(requestID: request.requestID, code: .notFound, message: "no device \(deviceID)")
        }
        if request.version == 0 {
            try await store.removePin(deviceID: deviceID, model: request.model)
        } else {
            guard try await store.modelVariants(model: request.model).contains(where: { $0.version == request.version })
            else {
                throw ErrorMessage(
                    requestID: request.requestID,
                    code: .notFound,
                    message: "\(request.model) has no v\(request.version)"
                )
            }
            try await store.setPin(
                ModelPin(
                    deviceID: deviceID,
                    model: request.model,
                    version: request.version,
                    rollback: request.rollback,
                    pinnedAt: Date()
                )
            )
        }
        try await replanAll(model: request.model)
    }

    /// Re-plans every device for a model and pushes the desired state to those online: connected here, or (with
    /// several coordinators on one database) online on another coordinator, through the relay.
    @discardableResult
    func replanAll(model: String) async throws -> [ModelAssignment] {
        var assignments: [ModelAssignment] = []
        let devices = try await store.devices()
        for device in devices {
            assignments.append(try await plan(model: model, device: device).0)
        }
        let connected = Set(connections.connectedDeviceIDs)
        for device in devices where connected.contains(device.id) || device.status == .online {
            connections.send(.desiredState(try await desiredState(for: device)), to: device.id)
        }
        return assignments
    }

    // MARK: Transfers

    /// The cache key's "from" for full (compressed) payloads, which have no base.
    static let noBase = [UInt8](repeating: 0, count: 32)

    struct Payload: Sendable {
        var relativePath: String
        var encoding: TransferEncoding
        var baseVersion: Int
        var size: Int
        var sha256: [UInt8]
    }

    /// The payload for a device's `fetchModel`: only the version and variant the device is assigned (else 302),
    /// as the smaller of the compressed full file and a delta from the base the device asks for, when that base
    /// is the one it reports running (any other base gets the full file: a device cannot make the coordinator
    /// compute deltas from arbitrary versions), and when the two files together fit ``maximumDeltaInputBytes``.
    /// Each (base, target) payload is computed once: concurrent fetches share the computation, and the result is
    /// cached on disk within ``payloadCacheBytes``.
    func payload(for request: FetchModel, deviceID: String) async throws -> Payload {
        let assignment = try await store.assignments(deviceID: deviceID).first { $0.model == request.model }
        guard let assignment, assignment.version == request.version, assignment.variant == request.variant else {
            let assigned = assignment.flatMap { a in a.version.map { "v\($0) \(a.variant ?? "")" } } ?? "nothing"
            throw ErrorMessage(
                requestID: request.requestID,
                code: .conflict,
                message: "\(request.model) v\(request.version) \(request.variant) is not assigned to this device "
                    + "(assigned: \(assigned)); fetch what the last desiredState names"
            )
        }
        guard
            let target = try await store.modelVariant(
                model: request.model,
                version: request.version,
                variant: request.variant
            )
        else {
            throw ErrorMessage(
                requestID: request.requestID,
                code: .notFound,
                message: "no \(request.model) v\(request.version) \(request.variant)"
            )
        }
        let full = try await cachedPayload(from: nil, to: target)
        let device = try await store.device(id: deviceID)
        let running = device?.installedModels.first { $0.name == request.model }
        guard request.baseSHA256.count == 32, request.baseSHA256 != target.sha256,
            request.baseSHA256 == running?.sha256,
            let base = try await store.modelVariant(sha256: request.baseSHA256),
            base.size + target.size <= maximumDeltaInputBytes
        else { return full }
        // A microcontroller applies deltas as a stream with constant RAM: it gets stream-mode patches (DELTA.md 12).
        let streaming = device?.capabilities["class"] == "mcu"
        let delta = try await cachedPayload(from: base, to: target, streaming: streaming)
        guard delta.size < full.size else { return full }
        var chosen = delta
        chosen.baseVersion = base.version
        return chosen
    }

    /// The cached payload from `base` (nil: the full file) to `target`, computing it once when it is missing.
    /// Stream-mode patches (`streaming`) are cached apart, under the key SHA-256(base SHA-256 + "stream-mode").
    private func cachedPayload(
        from base: ModelVariantRecord?,
        to target: ModelVariantRecord,
        streaming: Bool = false
    ) async throws -> Payload {
        let baseKey = base?.sha256 ?? Self.noBase
        let from = base != nil && streaming ? Digest.sha256(baseKey + Array("stream-mode".utf8)) : baseKey
        let encoding: TransferEncoding = base == nil ? .full : .delta
        return try await builds.run(key: from + target.sha256) { [self] in
            if let cached = try await store.cachedDelta(fromSHA256: from, toSHA256: target.sha256),
                blobs.exists(cached.path)
            {
                return Payload(
                    relativePath: cached.path,
                    encoding: encoding,
                    baseVersion: 0,
                    size: cached.size,
                    sha256: cached.payloadSHA256
                )
            }
            let kind = streaming ? "stream" : "delta"
            let name = (base == nil ? "full-" : "\(kind)-\(Digest.hex(from.prefix(8)))-") + Digest.hex(target.sha256)
            let written: (path: String, size: Int, sha256: [UInt8])
            if let base {
                // The delta codec works on both files in memory: bounded by `maximumDeltaInputBytes`.
                let bytes = try DeltaCodec.encode(
                    old: try blobs.read(base.blobPath),
                    new: try blobs.read(target.blobPath),
                    options: DeltaOptions(streaming: streaming)
                )
                written = (try blobs.writePayload(bytes, name: name), bytes.count, Digest.sha256(bytes))
            } else {
                written = try blobs.writeCompressedPayload(of: target.blobPath, name: name)
            }
            await builds.computed()
            let record = DeltaCacheRecord(
                fromSHA256: from,
                toSHA256: target.sha256,
                encoding: base == nil ? "full" : "delta",
                path: written.path,
                size: written.size,
                payloadSHA256: written.sha256,
                createdAt: Date()
            )
            try await store.storeCachedDelta(record)
            try await trimPayloadCache(keeping: record)
            return Payload(
                relativePath: written.path,
                encoding: encoding,
                baseVersion: 0,
                size: written.size,
                sha256: record.payloadSHA256
            )
        }
    }

    /// Removes the oldest cached payloads (never `kept`) until the cache holds at most ``payloadCacheBytes``.
    private func trimPayloadCache(keeping kept: DeltaCacheRecord) async throws {
        let entries = try await store.cachedDeltas()
        var total = entries.reduce(0) { $0 + $1.size }
        for entry in entries where total > payloadCacheBytes && entry.path != kept.path {
            try await store.removeCachedDelta(fromSHA256: entry.fromSHA256, toSHA256: entry.toSHA256)
            try? FileManager.default.removeItem(atPath: blobs.absolute(entry.path))
            total -= entry.size
        }
    }

    /// Records what a device did with a model: an install (and its cost on the wire) or a refusal. A report the
    /// device sends again (its `ack` was lost) is recorded once.
    func record(_ report: ModelReport, deviceID: String) async throws {
        let what = "\(report.model) v\(report.version) \(report.variant)"
        let now = Date()
        var transfer: NewTransfer?
        let event: NewEvent
        switch report.outcome {
        case .installed:
            let full = try await store.modelVariant(
                model: report.model,
                version: report.version,
                variant: report.variant
            )
            var fullPayload: DeltaCacheRecord?
            if let full { fullPayload = try await store.cachedDelta(fromSHA256: Self.noBase, toSHA256: full.sha256) }
            transfer = NewTransfer(
                deviceID: deviceID,
                model: report.model,
                version: report.version,
                variant: report.variant,
                encoding: report.encoding == .delta ? "delta" : "full",
                baseVersion: nil,
                wireBytes: report.wireBytes,
                fullBytes: fullPayload?.size ?? 0,
                fileBytes: full?.size ?? 0,
                startedAt: now,
                completedAt: now,
                resumedFrom: report.resumedFrom
            )
            let resumed = report.resumedFrom > 0 ? ", resumed at byte \(report.resumedFrom)" : ""
            event = NewEvent(
                at: now,
                deviceID: deviceID,
                kind: "model_installed",
                detail: "\(what) (\(report.encoding == .delta ? "delta" : "full"), \(report.wireBytes) bytes\(resumed))"
            )
        case .refused, .failed:
            event = NewEvent(
                at: now,
                deviceID: deviceID,
                kind: report.outcome == .refused ? "install_refused" : "install_failed",
                detail: "\(what): \(report.code): \(report.detail)"
            )
        }
        let recorded = try await store.recordModelReport(
            deviceID: deviceID,
            reportID: report.reportID,
            transfer: transfer,
            event: event,
            at: now
        )
        guard recorded else {
            logger.debug(
                "model report already recorded",
                metadata: ["device": "\(deviceID)", "report": "\(report.reportID)"]
            )
            return
        }
        try await store.recordRolloutOutcome(
            deviceID: deviceID,
            model: report.model,
            version: report.version,
            installed: report.outcome == .installed
        )
        if report.outcome != .installed {
            logger.warning(
                "\(event.kind)",
                metadata: ["device": "\(deviceID)", "model": "\(what)", "code": "\(report.code)"]
            )
        }
    }
}
