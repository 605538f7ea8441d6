/// The leaf's side of metering on the link (SPEC.md 15a): quotaSync after each welcome, grants from quotaGrants
/// into the ``TinyLeafMeter``, one usageReport of one receipt in flight at a time, at most one a second.
struct TinyMeterLink {
    var syncRequestID: UInt64 = 0
    var reportRequestID: UInt64 = 0
    var reportInFlight = false
    /// A 3xx answered a report: no more until the next connection (as the reference agent, SPEC.md 15a.5).
    var blocked = false
    var nextReportAt: UInt64 = 0
    /// Grants refused since start-up (bad signature, another device, malformed, no room), for the integrator's log.
    var refusedGrants = 0
    /// The quotaGrants answering this connection's quotaSync arrived (the table holds every grant of this leaf).
    var synced = false
    /// The meter's records were loaded (the first ``TinyLeaf/poll()`` or ``TinyLeaf/meterInference()`` loads them).
    var loaded = false
}

extension TinyLeaf {
    /// Meters one inference of the installed model, after computing its answer and before giving it: `answered`
    /// (or `unmetered`) means give the answer; any other result means refuse it. The counters are stored before
    /// this returns `answered`.
    public mutating func meterInference() -> TinyLeafMeter.Result {
        loadMeterOnce()
        guard meter != nil, !installed.isEmpty else { return .unmetered }
        let model = installed
        let online = phase == .online
        let now = platform.monotonicMilliseconds()
        return model.withFields { name, _, _ in
            meter!.consume(model: name, version: model.version, online: online, monotonic: now, storage: &platform)
        }
    }

    /// Whether this connection's quotaSync has been answered: the leaf holds every grant the coordinator made it.
    public var quotaSynced: Bool { meterLink.synced }

    /// Grants this leaf refused since start-up (bad signature, another device, malformed, or no room in its table).
    public var refusedGrants: Int { meterLink.refusedGrants }

    /// A verified manifest the coordinator wants on the leaf: whether it says `metered: true` (a version pushed
    /// `--metered`) decides whether the leaf's model is metered before any grant (Protocol/METERING.md, "On a
    /// leaf"). Kept in meter record 0, so that a restart offline does not answer such a model freely.
    mutating func notePushedMetered(_ manifest: TinyManifest, _ signed: UnsafeRawBufferPointer) {
        guard meter != nil else { return }
        let metered = ("metered" as StaticString).withUTF8Buffer { key in
            ("true" as StaticString).withUTF8Buffer { yes in
                TinyManifest.value(forKey: UnsafeRawBufferPointer(key), in: manifest.metadata, of: signed)?
                    .equals(UnsafeRawBufferPointer(yes), in: signed) == true
            }
        }
        _ = meter!.setPushedMetered(metered, storage: &platform)
    }

    /// Loads the meter's counters and grants (each grant's signature checked with the pinned release key) the first
    /// time it is called. Not at start: there the check ran under the start-up frames and was the leaf's deepest
    /// stack (8,212 B on the Cortex-M4 after a restart with a grant stored); the first poll runs it under the main
    /// loop's frames only.
    @inline(never)
    mutating func loadMeterOnce() {
        guard !meterLink.loaded else { return }
        meterLink.loaded = true
        guard meter != nil else { return }
        let key = releaseKey
        let hasKey = hasReleaseKey
        let platform = platform
        var id = deviceID
        withUnsafeBytes(of: &id) { raw in
            key.withUnsafeBytes { keyBytes in
                meter!.load(
                    from: platform,
                    releaseKey: hasKey ? keyBytes : nil,
                    deviceID: UnsafeRawBufferPointer(rebasing: raw[0..<18])
                )
            }
        }
    }

    mutating func sendQuotaSync() -> Bool {
        guard let meter else {
            meterLink.synced = true
            return true
        }
        let requestID = takeRequestID()
        meterLink.syncRequestID = requestID
        let after = meter.highestSequence
        return send { writer throws(TinyWireError) in
            try TinyOutbound.quotaSync(requestID: requestID, afterSequence: after, into: &writer)
        }
    }

    mutating func receiveGrants(_ message: TinyInbound.QuotaGrants) -> Bool {
        guard meter != nil, hasReleaseKey else {
            if message.requestID == meterLink.syncRequestID { meterLink.synced = true }
            return true
        }
        let key = releaseKey
        var id = deviceID
        for signed in message.grants {
            let outcome = key.withUnsafeBytes { keyBytes in
                withUnsafeBytes(of: &id) { raw in
                    meter!.receive(
                        grant: signed,
                        releaseKey: keyBytes,
                        deviceID: UnsafeRawBufferPointer(rebasing: raw[0..<18]),
                        storage: &platform
                    )
                }
            }
            if outcome != .kept, outcome != .duplicate { meterLink.refusedGrants += 1 }
        }
        guard message.requestID != 0, message.requestID == meterLink.syncRequestID else { return true }
        // A full answer: ask again after the last grant held (SPEC.md 15a.3).
        if message.count == TinyInbound.maximumSignedRecords { return sendQuotaSync() }
        meterLink.synced = true
        return true
    }

    /// Sends the oldest unsynced receipt when none is in flight and a second has passed since the last.
    mutating func syncUsage(_ now: UInt64) -> Bool {
        guard meter != nil, !meterLink.reportInFlight, !meterLink.blocked, now >= meterLink.nextReportAt,
            meter!.unsyncedEntries > 0
        else { return true }
        let secret = seed
        let key = publicKey
        var id = deviceID
        let receipt = secret.withUnsafeBytes { seedBytes in
            key.withUnsafeBytes { keyBytes in
                withUnsafeBytes(of: &id) { raw in
                    meter!.nextReceipt(
                        deviceID: UnsafeRawBufferPointer(rebasing: raw[0..<18]),
                        seed: seedBytes,
                        publicKey: keyBytes,
                        storage: &platform
                    )
                }
            }
        }
        guard let receipt else {
            meterLink.nextReportAt = now + 1000
            return true
        }
        let requestID = takeRequestID()
        meterLink.reportRequestID = requestID
        meterLink.reportInFlight = true
        meterLink.nextReportAt = now + 1000
        return send { writer throws(TinyWireError) in
            try TinyOutbound.usageReport(requestID: requestID, receipt: receipt, into: &writer)
        }
    }

    mutating func meterAcknowledged(_ requestID: UInt64) {
        guard meter != nil, meterLink.reportInFlight, requestID == meterLink.reportRequestID else { return }
        meterLink.reportInFlight = false
        meter!.receiptAcknowledged(storage: &platform)
        // More waiting: send the next at once.
        meterLink.nextReportAt = 0
    }

    mutating func meterRequestFailed(_ requestID: UInt64, code: Int, now: UInt64) {
        guard meterLink.reportInFlight, requestID == meterLink.reportRequestID else { return }
        meterLink.reportInFlight = false
        if code >= 300, code < 400 { meterLink.blocked = true }
        meterLink.nextReportAt = now + 5000
    }
}
