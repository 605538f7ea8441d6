import FleetDelta
import FleetModelIO
import FleetStore
import FleetTrust
import FleetWire
import Foundation
import Logging

/// The agent's side of model delivery: compares the coordinator's desired state with what is installed,
/// fetches what is missing (resuming interrupted transfers from the journal), verifies the result against the
/// signed manifest and the pinned release key, installs atomically, and queues a report for the coordinator.
///
/// One transfer runs at a time; the session loop feeds it messages in order, so it needs no locking.
struct ModelSync {
    let dataDirectory: String
    let deviceID: String
    let releaseKey: [UInt8]
    let installer: ModelInstaller
    let vault: ModelVault
    let journal: TransferJournal
    let reports: ModelReportOutbox
    let logger: Logger

    /// What we are fetching now, by request id.
    private var active: (requestID: UInt64, target: Target, resumedFrom: Int, startOffset: Int)?
    /// The active transfer's payload when its model is protected (never journaled to disk).
    private var inMemory: MemoryTransfer?
    /// Fetches waiting for the active one to finish.
    private var queue: [Target] = []
    /// Manifests already refused, so a desired state that keeps naming them does not loop.
    private var refused: Set<[UInt8]> = []
    /// When a failed fetch or install may be tried again.
    private var retryAt: ContinuousClock.Instant?
    /// Local storage failures in a row; the pause before the next attempt doubles with each.
    private var storageFailures = 0
    /// The pause after a first local storage failure (doubling, up to ``maximumStorageRetryDelay``).
    var storageRetryDelay: Duration = .seconds(5)
    static let maximumStorageRetryDelay: Duration = .seconds(300)

    struct Target {
        var signed: SignedManifest
        var manifest: ReleaseManifest
        var bytes: [UInt8]
        var protection: ModelProtection
    }

    init(
        dataDirectory: String,
        deviceID: String,
        releaseKey: [UInt8],
        keyring: ModelKeyring,
        reports: ModelReportOutbox,
        logger: Logger
    ) {
        self.dataDirectory = dataDirectory
        self.deviceID = deviceID
        self.releaseKey = releaseKey
        self.vault = ModelVault(dataDirectory: dataDirectory, keyring: keyring)
        self.installer = vault.installer
        self.journal = TransferJournal(dataDirectory: dataDirectory, hash: { Digest.sha256($0) })
        self.reports = reports
        self.logger = logger
    }

    /// Installed models as reported to the coordinator.
    func installedModels() -> [InstalledModel] {
        installer.installed().compactMap { state in
            guard let version = Int(state.version), let sha = Digest.bytes(hex: state.sha256) else { return nil }
            return InstalledModel(name: state.model, version: version, variant: state.variant, sha256: sha)
        }
    }

    /// Takes a new desired state; returns the fetch to send now, if any.
    mutating func desired(_ state: DesiredState, nextRequestID: () -> UInt64) async -> FetchModel? {
        queue.removeAll()
        for desired in state.models {
            guard !desired.manifest.isEmpty else {
                logger.notice(
                    "no variant fits this device",
                    metadata: ["model": "\(desired.model)", "reason": "\(desired.reason)"]
                )
                continue
            }
            guard !refused.contains(desired.manifest) else { continue }
            let signed: SignedManifest
            do {
                signed = try SignedManifest(decoding: desired.manifest)
            } catch {
                await refuse(
                    desired.manifest,
                    model: desired.model,
                    version: 0,
                    variant: "",
                    code: "malformed-manifest",
                    detail: "\(error)"
                )
                continue
            }
            let installed = installer.installed(model: desired.model)
            if let installed, installed.sha256 == Digest.hex(signed.manifest.sha256) { continue }
            if let active, active.target.bytes == desired.manifest { continue }
            switch InstallPolicy(deviceID: deviceID, model: desired.model).check(
                manifest: signed,
                releaseKey: releaseKey,
                installed: installedVersion(installed),
                blobSHA256: nil
            ) {
            case .success(let manifest):
                do {
                    let protection = try ModelProtection(metadata: manifest.metadata)
                    queue.append(
                        Target(signed: signed, manifest: manifest, bytes: desired.manifest, protection: protection)
                    )
                } catch {
                    await refuse(
                        desired.manifest,
                        model: manifest.model,
                        version: manifest.version,
                        variant: manifest.variant,
                        code: "unknown-protection",
                        detail: error.detail
                    )
                }
            case .failure(let refusal):
                let m = signed.manifest
                await refuse(
                    desired.manifest,
                    model: m.model,
                    version: m.version,
                    variant: m.variant,
                    code: refusal.name,
                    detail: refusal.message
                )
            }
        }
        guard active == nil else { return nil }
        return startNextWhenDue(nextRequestID)
    }

    /// The transfer for `requestID` begins (possibly from a resume offset).
    mutating func started(_ start: TransferStart) async throws {
        guard let current = active, current.requestID == start.requestID else { return }
        do {
            try begin(start, current)
        } catch  where Self.isStorageFailure(error) {
            active = nil
            try? journal.discard(model: current.target.manifest.model)
            await storageFailed(current.target, error: error, encoding: start.encoding, wireBytes: start.totalBytes)
        }
    }

    private mutating func begin(
        _ start: TransferStart,
        _ started: (requestID: UInt64, target: Target, resumedFrom: Int, startOffset: Int)
    ) throws {
        var current = started
        let m = current.target.manifest
        let descriptor = TransferDescriptor(
            model: m.model,
            version: String(m.version),
            variant: m.variant,
            encoding: start.encoding == .delta ? .delta : .full,
            baseVersion: start.encoding == .delta ? String(start.baseVersion) : nil,
            payloadSHA256: Digest.hex(start.payloadSHA256),
            totalBytes: start.totalBytes
        )
        if current.target.protection.isSealed {
            guard start.offset == 0 else { throw AgentError("protected transfers start at 0, not \(start.offset)") }
            inMemory = try MemoryTransfer(descriptor, maximumBytes: installer.maximumModelBytes)
        } else if try journal.begin(descriptor).receivedBytes != start.offset {
            // The coordinator restarts from what it can serve; drop what does not line up.
            try journal.discard(model: m.model)
            _ = try journal.begin(descriptor)
            guard start.offset == 0 else {
                throw AgentError("transfer offset \(start.offset) does not match the journal")
            }
        }
        current.resumedFrom = start.offset
        current.startOffset = start.offset
        active = current
        if start.offset > 0 {
            logger.info(
                "resuming transfer",
                metadata: ["model": "\(m.model) v\(m.version) \(m.variant)", "offset": "\(start.offset)"]
            )
        }
    }

    /// A chunk arrived. Returns true when the model was installed (the reported state changed).
    mutating func chunk(
        _ chunk: TransferChunk,
        nextRequestID: () -> UInt64
    ) async throws -> (installed: Bool, next: FetchModel?) {
        guard let current = active, current.requestID == chunk.requestID else { return (false, nil) }
        let m = current.target.manifest
        let progress: TransferProgress
        if var memory = inMemory {
            try memory.append(chunk.bytes, at: chunk.offset)
            inMemory = memory
            progress = memory.progress
        } else {
            do {
                progress = try journal.append(chunk.bytes, at: chunk.offset, model: m.model)
            } catch  where Self.isStorageFailure(error) {
                active = nil
                try? journal.discard(model: m.model)
                await storageFailed(current.target, error: error, encoding: .full, wireBytes: 0)
                return (false, nil)
            }
        }
        guard progress.isComplete else { return (false, nil) }
        active = nil
        let installed = await finish(current.target, progress: progress, resumedFrom: current.resumedFrom)
        return (installed, startNextWhenDue(nextRequestID))
    }

    /// The coordinator could not serve the active fetch: try again after a pause (see ``tick(now:nextRequestID:)``).
    mutating func failed(requestID: UInt64, error: ErrorMessage) async {
        guard let current = active, current.requestID == requestID else { return }
        active = nil
        inMemory = nil
        queue.append(current.target)
        retryAt = ContinuousClock.now + .seconds(5)
        logger.warning(
            "fetch failed; retrying in 5 s",
            metadata: ["model": "\(current.target.manifest.model)", "error": "\(error.message)"]
        )
    }

    /// Called on every message from the coordinator (heartbeat acks arrive each interval): starts a retry when due.
    mutating func tick(nextRequestID: () -> UInt64) -> FetchModel? {
        guard active == nil, !queue.isEmpty, retryAt != nil else { return nil }
        return startNextWhenDue(nextRequestID)
    }

    /// The session ended: the journal keeps the progress for the next connection.
    mutating func disconnected() {
        active = nil
        inMemory = nil
        queue.removeAll()
    }

    // MARK: Steps

    /// Starts the next fetch unless a failure's pause (``retryAt``) is still running.
    private mutating func startNextWhenDue(_ nextRequestID: () -> UInt64) -> FetchModel? {
        if let due = retryAt {
            guard ContinuousClock.now >= due else { return nil }
            retryAt = nil
        }
        return startNext(nextRequestID())
    }

    private mutating func startNext(_ requestID: UInt64) -> FetchModel? {
        // Skip targets that an install in the meantime already satisfied.
        let installer = self.installer
        queue.removeAll { target in
            installer.installed(model: target.manifest.model)?.sha256 == Digest.hex(target.manifest.sha256)
        }
        guard !queue.isEmpty else { return nil }
        let target = queue.removeFirst()
        let m = target.manifest
        let installed = installer.installed(model: m.model)
        var resumeSHA: [UInt8] = []
        var resumeOffset = 0
        if !target.protection.isSealed, let progress = journal.progress(model: m.model),
            progress.descriptor.version == String(m.version),
            progress.descriptor.variant == m.variant, let sha = Digest.bytes(hex: progress.descriptor.payloadSHA256)
        {
            resumeSHA = sha
            resumeOffset = progress.receivedBytes
        }
        active = (requestID, target, 0, 0)
        logger.info(
            "fetching model",
            metadata: [
                "model": "\(m.model) v\(m.version) \(m.variant)",
                "base": "\(installed.map { "v\($0.version)" } ?? "none")",
                "resume": "\(resumeOffset)",
            ]
        )
        return FetchModel(
            requestID: requestID,
            model: m.model,
            version: m.version,
            variant: m.variant,
            baseSHA256: installed.flatMap { Digest.bytes(hex: $0.sha256) } ?? [],
            resumePayloadSHA256: resumeSHA,
            resumeOffset: resumeOffset
        )
    }

    private mutating func finish(_ target: Target, progress: TransferProgress, resumedFrom: Int) async -> Bool {
        let m = target.manifest
        let encoding: TransferEncoding = progress.descriptor.encoding == .delta ? .delta : .full
        do {
            let payload = try inMemory.map { try $0.complete() } ?? journal.complete(model: m.model)
            inMemory = nil
            let file: [UInt8]
            if encoding == .delta {
                file = try DeltaCodec.apply(
                    old: try vault.plaintext(model: m.model).bytes,
                    patch: payload,
                    limits: DeltaLimits(maximumOutputSize: max(m.size, 1))
                )
            } else {
                file = try Zlib.decompress(payload, maximumSize: max(m.size, 1))
            }
            let installed = installer.installed(model: m.model)
            switch InstallPolicy(deviceID: deviceID, model: m.model).check(
                manifest: target.signed,
                releaseKey: releaseKey,
                installed: installedVersion(installed),
                blobSHA256: Digest.sha256(file)
            ) {
            case .failure(let refusal):
                try? journal.discard(model: m.model)
                await refuse(
                    target.bytes,
                    model: m.model,
                    version: m.version,
                    variant: m.variant,
                    code: refusal.name,
                    detail: refusal.message
                )
                return false
            case .success:
                break
            }
            if let refusal = formatRefusal(m, file: file, installed: installed) {
                try? journal.discard(model: m.model)
                await refuse(
                    target.bytes,
                    model: m.model,
                    version: m.version,
                    variant: m.variant,
                    code: refusal.code,
                    detail: refusal.detail
                )
                return false
            }
            try installer.install(
                model: m.model,
                version: String(m.version),
                variant: m.variant,
                sha256: Digest.hex(m.sha256),
                bytes: try vault.storedForm(of: file, model: m.model, sha256: m.sha256, protection: target.protection),
                manifest: target.bytes,
                directiveIssuedAt: m.kind == .rollback ? m.issuedAt : nil
            )
            try? journal.discard(model: m.model)
            storageFailures = 0
            logger.info(
                "model installed",
                metadata: [
                    "model": "\(m.model) v\(m.version) \(m.variant)", "encoding": "\(encoding)",
                    "bytes": "\(progress.descriptor.totalBytes)", "protection": "\(target.protection.rawValue)",
                ]
            )
            await report(
                m.model,
                m.version,
                m.variant,
                .installed,
                code: "",
                detail:
                    "installed at \(ModelStorageLayout.currentModelPath(dataDirectory: dataDirectory, model: m.model))",
                encoding: encoding,
                wireBytes: progress.descriptor.totalBytes,
                resumedFrom: resumedFrom
            )
            return true
        } catch {
            inMemory = nil
            try? journal.discard(model: m.model)
            if Self.isStorageFailure(error) {
                await storageFailed(
                    target,
                    error: error,
                    encoding: encoding,
                    wireBytes: progress.descriptor.totalBytes,
                    resumedFrom: resumedFrom
                )
                return false
            }
            refused.insert(target.bytes)
            logger.error("install failed", metadata: ["model": "\(m.model)", "error": "\(error)"])
            await report(
                m.model,
                m.version,
                m.variant,
                .failed,
                code: "reconstruction-failed",
                detail: "\(error)",
                encoding: encoding,
                wireBytes: progress.descriptor.totalBytes,
                resumedFrom: resumedFrom
            )
            return false
        }
    }

    /// A local file-system failure (a full disk, a read-only or failing one) is not the payload's fault: the
    /// partial files go, the target is tried again after a pause that doubles with each failure in a row, and the
    /// report names the real cause.
    private mutating func storageFailed(
        _ target: Target,
        error: any Error,
        encoding: TransferEncoding,
        wireBytes: Int,
        resumedFrom: Int = 0
    ) async {
        let m = target.manifest
        _ = try? installer.recover(model: m.model)
        storageFailures += 1
        let delay = min(storageRetryDelay * (1 << min(storageFailures - 1, 16)), Self.maximumStorageRetryDelay)
        queue.removeAll { $0.bytes == target.bytes }
        queue.append(target)
        retryAt = ContinuousClock.now + delay
        logger.error(
            "local storage failed; partial files removed, retrying",
            metadata: ["model": "\(m.model) v\(m.version) \(m.variant)", "error": "\(error)", "retry-in": "\(delay)"]
        )
        await report(
            m.model,
            m.version,
            m.variant,
            .failed,
            code: "storage-error",
            detail: "\(error); partial files removed, retrying in \(delay)",
            encoding: encoding,
            wireBytes: wireBytes,
            resumedFrom: resumedFrom
        )
    }

    static func isStorageFailure(_ error: any Error) -> Bool {
        (error as? ModelInstallError)?.isStorageFailure == true
            || (error as? TransferJournalError)?.isStorageFailure == true
    }

    private mutating func refuse(
        _ manifest: [UInt8],
        model: String,
        version: Int,
        variant: String,
        code: String,
        detail: String
    ) async {
        refused.insert(manifest)
        logger.warning(
            "refused model",
            metadata: ["model": "\(model) v\(version) \(variant)", "code": "\(code)", "detail": "\(detail)"]
        )
        await report(
            model,
            version,
            variant,
            .refused,
            code: code,
            detail: detail,
            encoding: .full,
            wireBytes: 0,
            resumedFrom: 0
        )
    }

    /// Queues a report of what became of `model` `version` `variant` for the coordinator.
    private func report(
        _ model: String,
        _ version: Int,
        _ variant: String,
        _ outcome: ModelReport.Outcome,
        code: String,
        detail: String,
        encoding: TransferEncoding = .full,
        wireBytes: Int = 0,
        resumedFrom: Int = 0
    ) async {
        await reports.enqueue(
            ModelReport(
                requestID: 0,
                model: model,
                version: version,
                variant: variant,
                outcome: outcome,
                code: code,
                detail: detail,
                encoding: encoding,
                wireBytes: wireBytes,
                resumedFrom: resumedFrom
            )
        )
    }

    /// Why `file` must not be installed although its manifest verified: it is not a model of its declared format
    /// (applications could not load it), or it is an opaque file for a model installed as safetensors.
    private func formatRefusal(
        _ manifest: ReleaseManifest,
        file: [UInt8],
        installed: InstalledModelState?
    ) -> (code: String, detail: String)? {
        let format: ModelFormat
        do {
            format = try ModelFormat(metadata: manifest.metadata)
            try format.validate(file)
        } catch {
            return ("unloadable-model", "\(error); the installed model is kept")
        }
        guard let installed, let signed = try? SignedManifest(decoding: installed.manifest) else { return nil }
        let current = (try? ModelFormat(metadata: signed.manifest.metadata)) ?? .safetensors
        guard !format.mayReplace(current) else { return nil }
        return (
            "format-change",
            "a \(format.rawValue) file cannot replace the installed \(current.rawValue) model; "
                + "the installed model is kept"
        )
    }

    private func installedVersion(_ state: InstalledModelState?) -> InstalledVersion? {
        guard let state, let version = Int(state.version) else { return nil }
        let issuedAt = (try? SignedManifest(decoding: state.manifest))?.manifest.issuedAt ?? state.installedAt
        return InstalledVersion(
            model: state.model,
            version: version,
            issuedAt: issuedAt,
            newestDirective: state.newestDirective
        )
    }
}
