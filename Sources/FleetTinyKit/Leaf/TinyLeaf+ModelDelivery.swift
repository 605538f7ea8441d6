/// The leaf's model delivery: a desired state names the model, the fetch (resumed when the transfer journal allows),
/// the transfer's chunks into the flash installer, and the report of the outcome, refusals included.
extension TinyLeaf {
    /// The first model of a desired state (the leaf runs one model: the first the coordinator assigns it). Its
    /// manifest's signature is checked here, in a small frame, and the rest decided in
    /// ``decideDesired(_:verified:now:)``, whose frame (about 950 B on the Cortex-M4) is then not under Ed25519's.
    mutating func handleDesired(_ desired: TinyInbound.DesiredState, now: UInt64) -> TinyLeafEvent {
        for entry in desired.models where entry.manifest.count > 0 {
            let verified = hasReleaseKey && Self.isSigned(entry.manifest, by: releaseKey)
            return decideDesired(entry, verified: verified, now: now)
        }
        return .none
    }

    /// Whether `signed` is a well-formed manifest signed by `releaseKey`.
    @inline(never)
    private static func isSigned(_ signed: UnsafeRawBufferPointer, by releaseKey: TinyDigest32) -> Bool {
        releaseKey.withUnsafeBytes { key in TinyManifest.isSigned(signed, releaseKey: key) }
    }

    /// Acts on one desired model whose signature check gave `verified`: refuses it (with the first reason that
    /// applies), ignores it (installed, or being fetched), or starts its fetch.
    @inline(never)
    private mutating func decideDesired(
        _ entry: TinyInbound.DesiredModel,
        verified: Bool,
        now: UInt64
    ) -> TinyLeafEvent {
        let signed = entry.manifest
        let empty = UnsafeRawBufferPointer(start: nil, count: 0)
        let manifest: TinyManifest
        do {
            manifest = try TinyManifest(parsing: signed)
        } catch {
            return refuse(entry.model, version: 0, variant: empty, "malformed-manifest", now)
        }
        let model = manifest.model.slice(of: signed)
        let variant = manifest.variant.slice(of: signed)
        let version = Int(manifest.version)
        guard verified else {
            return refuse(model, version: version, variant: variant, "bad-signature", now)
        }
        guard TinyBytes.equal(model, entry.model) else {
            return refuse(model, version: version, variant: variant, "wrong-model", now)
        }
        if let targetDevice = manifest.targetDevice,
            !withDeviceID({ TinyBytes.equal($0, targetDevice.slice(of: signed)) })
        {
            return refuse(model, version: version, variant: variant, "wrong-device", now)
        }
        guard manifest.kind == .release else {
            return refuse(model, version: version, variant: variant, "invalid-rollback", now)
        }
        if !installed.isEmpty, version < installed.version,
            installed.withFields({ name, _, _ in TinyBytes.equal(name, model) })
        {
            return refuse(model, version: version, variant: variant, "rollback", now)
        }
        notePushedMetered(manifest, signed)
        guard manifest.size <= UInt64(Int32.max),
            let target = manifest.sha256.withUnsafeBytes({ sha256 in
                TinyInstalledModel(name: model, version: version, variant: variant, sha256: sha256)
            })
        else {
            return refuse(model, version: version, variant: variant, "malformed-manifest", now)
        }
        if target.matches(installed) { return .none }
        if transfer.wanted, transfer.target.matches(target), transfer.active || now < transfer.retryAt {
            return .none
        }
        return startFetch(target, size: Int(manifest.size)) ? .none : drop(now)
    }

    mutating func startFetch(_ target: TinyInstalledModel, size: Int) -> Bool {
        let resuming = transfer.target.matches(target) && transfer.received > 0 && transfer.hasPayloadSHA
        if !resuming { transfer.clear() }
        transfer.target = target
        transfer.targetSize = size
        transfer.wanted = true
        transfer.active = true
        transfer.requestID = takeRequestID()
        let requestID = transfer.requestID
        let offset = resuming ? transfer.received : 0
        let payloadSHA = transfer.payloadSHA
        // A delta against the installed model when the installer can apply one (SPEC 11.3), else the full file.
        let current = installed
        let sameModel = current.withFields { installedName, _, _ in
            target.withFields { name, _, _ in TinyBytes.equal(installedName, name) }
        }
        let base = !current.isEmpty && sameModel && installer.accepts(encoding: 1) ? 32 : 0
        return target.withFields { name, variant, _ in
            current.withFields { _, _, installedSHA in
                payloadSHA.withUnsafeBytes { sha in
                    send { writer throws(TinyWireError) in
                        try TinyOutbound.fetchModel(
                            requestID: requestID,
                            model: name,
                            version: target.version,
                            variant: variant,
                            baseSHA256: UnsafeRawBufferPointer(rebasing: installedSHA[0..<base]),
                            resumePayloadSHA256: resuming ? sha : UnsafeRawBufferPointer(start: nil, count: 0),
                            resumeOffset: offset,
                            into: &writer
                        )
                    }
                }
            }
        }
    }

    mutating func handleStart(_ start: TinyInbound.TransferStart, now: UInt64) -> TinyLeafEvent {
        guard transfer.active, start.requestID == transfer.requestID else { return .none }
        let samePayload = transfer.hasPayloadSHA && transfer.payloadSHA == TinyDigest32(bytes: start.payloadSHA256)
        if start.offset > 0 {
            // A resume must continue exactly where this leaf stopped, on the same payload.
            guard samePayload, start.offset == transfer.received else {
                return failTransfer("reconstruction-failed", now)
            }
        } else {
            guard installer.accepts(encoding: start.encoding),
                installer.begin(
                    target: transfer.target,
                    targetSize: transfer.targetSize,
                    encoding: start.encoding,
                    totalBytes: start.totalBytes
                )
            else { return failTransfer("reconstruction-failed", now) }
            transfer.hasher = TinySHA256()
            transfer.received = 0
            transfer.resumedFrom = 0
        }
        if start.offset > 0 { transfer.resumedFrom = start.offset }
        transfer.payloadSHA = TinyDigest32(bytes: start.payloadSHA256)
        transfer.hasPayloadSHA = true
        transfer.totalBytes = start.totalBytes
        transfer.encoding = start.encoding
        transfer.started = true
        if start.totalBytes == start.offset { return completeTransfer(now) }
        return .none
    }

    mutating func handleChunk(_ chunk: TinyInbound.TransferChunk, now: UInt64) -> TinyLeafEvent {
        guard transfer.active, transfer.started, chunk.requestID == transfer.requestID else { return .none }
        guard chunk.offset == transfer.received, chunk.bytes.count <= transfer.totalBytes - transfer.received else {
            return failTransfer("reconstruction-failed", now)
        }
        guard installer.write(chunk.bytes) else { return failTransfer("storage-error", now) }
        transfer.hasher.update(chunk.bytes)
        transfer.received += chunk.bytes.count
        return transfer.received == transfer.totalBytes ? completeTransfer(now) : .none
    }

    mutating func completeTransfer(_ now: UInt64) -> TinyLeafEvent {
        var hasher = transfer.hasher
        guard hasher.finalize() == transfer.payloadSHA else { return failTransfer("reconstruction-failed", now) }
        let outcome = installer.finish()
        switch outcome {
        case .installed:
            let target = transfer.target
            let stored = target.withRecord { platform.storeRecord(.installedModel, $0) }
            guard stored else { return failTransfer("storage-error", now) }
            installed = target
            let version = target.version
            queueReport(target, outcome: 0, code: "")
            transfer.clear()
            guard resendPendingReport(), sendStateReport() else { return drop(now) }
            return .installed(version: version)
        case .hashMismatch: return refuseTransfer("hash-mismatch", now)
        case .reconstructionFailed: return failTransfer("reconstruction-failed", now)
        case .storageError: return failTransfer("storage-error", now)
        }
    }

    mutating func refuseTransfer(_ code: StaticString, _ now: UInt64) -> TinyLeafEvent {
        let target = transfer.target
        queueReport(target, outcome: 1, code: code)
        transfer.clear()
        return resendPendingReport() ? .refused(version: target.version, code: code) : drop(now)
    }

    /// The install failed (not the manifest's fault): reported, then fetched again from the start after 5 s.
    mutating func failTransfer(_ code: StaticString, _ now: UInt64) -> TinyLeafEvent {
        let target = transfer.target
        let size = transfer.targetSize
        queueReport(target, outcome: 2, code: code)
        transfer.clear()
        transfer.target = target
        transfer.targetSize = size
        transfer.wanted = true
        transfer.retryAt = now + Self.fetchRetryMilliseconds
        return resendPendingReport() ? .refused(version: target.version, code: code) : drop(now)
    }

    static var fetchRetryMilliseconds: UInt64 { 5000 }

    /// How long the link may stay silent: once welcomed, the coordinator's offline timeout (it answers every
    /// heartbeat, and would mark the leaf offline after as long); 15 s during the handshake (its limit is 10 s).
    var silenceLimit: UInt64 {
        phase == .online ? offlineTimeout : 15_000
    }

    /// Reports a refused manifest once (not again for every desiredState that repeats it).
    mutating func refuse(
        _ model: UnsafeRawBufferPointer,
        version: Int,
        variant: UnsafeRawBufferPointer,
        _ code: StaticString,
        _ now: UInt64
    ) -> TinyLeafEvent {
        var zero = TinyDigest32()
        let target = withUnsafeBytes(of: &zero) { sha in
            TinyInstalledModel(
                name: UnsafeRawBufferPointer(
                    rebasing: model[0..<min(model.count, TinyInstalledModel.maximumNameLength)]
                ),
                version: version,
                variant: UnsafeRawBufferPointer(
                    rebasing: variant[0..<min(variant.count, TinyInstalledModel.maximumVariantLength)]
                ),
                sha256: sha
            ) ?? TinyInstalledModel()
        }
        if refusal.active, refusal.model.matches(target), TinyBytes.equal(refusal.code.tinyBytes, code) { return .none }
        refusal = TinyPendingReport(model: target, outcome: 1, code: code)
        refusal.active = true
        queueReport(target, outcome: 1, code: code)
        return resendPendingReport() ? .refused(version: version, code: code) : drop(now)
    }

    mutating func queueReport(_ model: TinyInstalledModel, outcome: UInt8, code: StaticString) {
        pendingReport = TinyPendingReport(model: model, outcome: outcome, code: code)
        pendingReport.encoding = transfer.encoding
        pendingReport.wireBytes = outcome == 1 && !transfer.started ? 0 : transfer.totalBytes
        pendingReport.resumedFrom = transfer.resumedFrom
        // Stable per report: the same report sent again is recorded once (SPEC.md 5.22 reportID).
        pendingReport.reportID = UInt64(model.version) << 3 | UInt64(outcome) + 1
        pendingReport.active = true
    }

    /// Sends the unacknowledged modelReport (on each connection until its ack arrives).
    mutating func resendPendingReport() -> Bool {
        guard pendingReport.active, phase == .online else { return true }
        pendingReport.requestID = takeRequestID()
        let report = pendingReport
        return report.model.withFields { name, variant, _ in
            report.code.withUTF8Buffer { code in
                send { writer throws(TinyWireError) in
                    try TinyOutbound.modelReport(
                        TinyOutbound.ModelReport(
                            requestID: report.requestID,
                            model: name,
                            version: report.model.version,
                            variant: variant,
                            outcome: report.outcome,
                            code: UnsafeRawBufferPointer(code),
                            detail: UnsafeRawBufferPointer(code),
                            encoding: report.outcome == 0 ? report.encoding : 0,
                            wireBytes: report.outcome == 0 ? report.wireBytes : 0,
                            resumedFrom: report.outcome == 0 ? report.resumedFrom : 0,
                            reportID: report.reportID
                        ),
                        into: &writer
                    )
                }
            }
        }
    }
}
