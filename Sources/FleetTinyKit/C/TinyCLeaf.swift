// The C entry points of the kit (include/tinyfleet.h): a TinyLeaf over the integrator's C platform
// (``TinyCPlatform``) and the kit's A/B flash installer, living in memory the integrator gives. Each function
// checks its arguments and returns a `tinyfleet_result` code; nothing here is allocated except, once in
// `tinyfleet_start`, the installer's decoder state (``TinyInstallerWork``, `installer_work_bytes`).

/// The leaf a C integrator runs.
public typealias TinyCLeaf = TinyLeaf<TinyCPlatform, TinyFlashModelInstaller<TinyCPlatform>>

/// `tinyfleet_result`'s codes (the header documents each).
enum TinyCResult: Int32 {
    case ok = 0
    case invalidArgument = -1
    case bufferTooSmall = -2
    case misaligned = -3
    case flashLayout = -4
    case noIdentity = -5
    case noModel = -6
    case modelUnreadable = -7
    case inputTooShort = -8
    case scratchTooSmall = -9
    case quotaExhausted = -10
    case rateLimited = -11
    case ledgerFull = -12
    case storageFailed = -13
}

enum TinyCInterface {
    /// The smallest receive buffer: a length prefix and a 1 KiB frame (the gateway cuts chunks to fit).
    static let receiveMinimum = 4 + 1024
    /// The smallest send buffer: 512 bytes, 640 with a meter (a usageReport).
    static func sendMinimum(metered: Bool) -> Int { metered ? 640 : 512 }

    /// The leaf at `handle` (what `tinyfleet_start` returned).
    static func leaf(_ handle: UnsafeMutableRawPointer) -> UnsafeMutablePointer<TinyCLeaf> {
        handle.assumingMemoryBound(to: TinyCLeaf.self)
    }

    /// The length of a NUL-terminated string (0 for NULL).
    static func bytes(_ string: UnsafePointer<UInt8>?) -> UnsafeRawBufferPointer {
        guard let string else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        var count = 0
        while string[count] != 0 { count += 1 }
        return UnsafeRawBufferPointer(start: string, count: count)
    }

    /// Copies `bytes` into `field` and ends them with a NUL (`field` is longer than any of the kit's strings).
    static func copyString(_ bytes: UnsafeRawBufferPointer, into field: UnsafeMutableRawBufferPointer) {
        let count = min(bytes.count, field.count - 1)
        for index in 0..<count { field[index] = bytes[index] }
        field[count] = 0
    }

    static func code(_ result: TinyLeafMeter.Result) -> (TinyCResult, billing: Int32) {
        switch result {
        case .unmetered: (.ok, 0)
        case .answered(let kind): (.ok, kind == 0 ? 1 : 2)
        case .quotaExhausted: (.quotaExhausted, 0)
        case .rateLimited: (.rateLimited, 0)
        case .ledgerFull: (.ledgerFull, 0)
        case .storageFailed: (.storageFailed, 0)
        }
    }

    /// The installed model's layout, nil (with the code) when none is installed or it cannot be read.
    static func layout(_ installer: TinyFlashModelInstaller<TinyCPlatform>) -> (TinyModelLayout?, TinyCResult) {
        guard let record = installer.store.active(installer.flash) else { return (nil, .noModel) }
        do {
            let layout = try TinyModelLayout(
                flash: installer.flash,
                offset: installer.store.offset(ofSlot: record.slot),
                length: record.length
            )
            return (layout, .ok)
        } catch {
            return (nil, .modelUnreadable)
        }
    }

    /// Floats of scratch one inference of `layout` needs: the activations (`2 * widest`), then the probabilities.
    static func scratchFloats(_ layout: TinyModelLayout) -> Int { 2 * layout.widest + layout.outputs }
}

/// `void tinyfleet_get_sizes(uint32_t meter_grants, uint32_t page_size, tinyfleet_sizes *out)`.
@_cdecl("tinyfleet_get_sizes")
public func tinyfleetGetSizes(_ meterGrants: UInt32, _ pageSize: UInt32, _ out: UnsafeMutableRawPointer?) {
    guard let out else { return }
    var sizes = TinyCSizes()
    sizes.leafBytes = UInt32(MemoryLayout<TinyCLeaf>.size)
    sizes.leafAlignment = UInt32(MemoryLayout<TinyCLeaf>.alignment)
    sizes.receiveMinimum = UInt32(TinyCInterface.receiveMinimum)
    sizes.sendMinimum = UInt32(TinyCInterface.sendMinimum(metered: meterGrants > 0))
    sizes.pageBytes = pageSize
    sizes.meterBytes = meterGrants > 0 ? UInt32(TinyLeafMeter.bufferSize(grants: Int(meterGrants))) : 0
    sizes.installerWorkBytes = UInt32(TinyInstallerWork.stateBytes)
    sizes.platformStructBytes = UInt32(MemoryLayout<TinyCPlatformTable>.stride)
    sizes.settingsStructBytes = UInt32(MemoryLayout<TinyCSettings>.stride)
    sizes.buffersStructBytes = UInt32(MemoryLayout<TinyCBuffers>.stride)
    sizes.statusStructBytes = UInt32(MemoryLayout<TinyCStatus>.stride)
    sizes.meterStatusStructBytes = UInt32(MemoryLayout<TinyCMeterStatus>.stride)
    sizes.eventStructBytes = UInt32(MemoryLayout<TinyCEvent>.stride)
    sizes.predictionStructBytes = UInt32(MemoryLayout<TinyCPrediction>.stride)
    out.storeBytes(of: sizes, as: TinyCSizes.self)
}

/// `tinyfleet_result tinyfleet_start(const tinyfleet_platform *, const tinyfleet_settings *,
/// const tinyfleet_buffers *, tinyfleet_leaf **leaf)`.
@_cdecl("tinyfleet_start")
public func tinyfleetStart(
    _ platformTable: UnsafeRawPointer?,
    _ settingsPointer: UnsafeRawPointer?,
    _ buffersPointer: UnsafeRawPointer?,
    _ leafOut: UnsafeMutablePointer<UnsafeMutableRawPointer?>?
) -> Int32 {
    startCLeaf(platformTable, settingsPointer, buffersPointer, leafOut).rawValue
}

/// `tinyfleet_start`'s work. Never inlined: its frame (settings, installer and platform values) is gone before
/// the caller's first poll.
@inline(never)
func startCLeaf(
    _ platformTable: UnsafeRawPointer?,
    _ settingsPointer: UnsafeRawPointer?,
    _ buffersPointer: UnsafeRawPointer?,
    _ leafOut: UnsafeMutablePointer<UnsafeMutableRawPointer?>?
) -> TinyCResult {
    guard let platformTable, let settingsPointer, let buffersPointer, let leafOut else { return .invalidArgument }
    leafOut.pointee = nil
    let settings = settingsPointer.load(as: TinyCSettings.self)
    let buffers = buffersPointer.load(as: TinyCBuffers.self)
    guard let platform = TinyCPlatform(table: platformTable.assumingMemoryBound(to: TinyCPlatformTable.self)),
        settings.token != nil, settings.software != nil,
        let leafMemory = buffers.leaf, let receive = buffers.receive, let send = buffers.send, let page = buffers.page
    else { return .invalidArgument }
    let metered = settings.meterGrants > 0
    guard Int(buffers.leafBytes) >= MemoryLayout<TinyCLeaf>.size,
        Int(buffers.receiveBytes) >= TinyCInterface.receiveMinimum,
        Int(buffers.sendBytes) >= TinyCInterface.sendMinimum(metered: metered),
        Int(buffers.pageBytes) >= platform.pageSize
    else { return .bufferTooSmall }
    guard Int(bitPattern: leafMemory) % MemoryLayout<TinyCLeaf>.alignment == 0,
        buffers.meter == nil || Int(bitPattern: buffers.meter) % 8 == 0
    else { return .misaligned }
    var meter: TinyLeafMeter? = nil
    if metered {
        let grants = Int(settings.meterGrants)
        guard let memory = buffers.meter, Int(buffers.meterBytes) >= TinyLeafMeter.bufferSize(grants: grants),
            let made = TinyLeafMeter(
                buffer: UnsafeMutableRawBufferPointer(start: memory, count: Int(buffers.meterBytes)),
                grants: grants
            )
        else { return .bufferTooSmall }
        meter = made
    }
    let slotPages = settings.slotPages > 0 ? Int(settings.slotPages) : (platform.pageCount - 2) / 2
    guard slotPages > 0, let store = TinySlotStore(flash: platform, slotPages: slotPages) else { return .flashLayout }
    let installer = TinyFlashModelInstaller(
        flash: platform,
        store: store,
        pageBuffer: UnsafeMutableRawBufferPointer(start: page, count: platform.pageSize)
    )
    var leafSettings = TinyLeafSettings(
        token: TinyCInterface.bytes(settings.token),
        name: TinyCInterface.bytes(settings.name),
        software: TinyCInterface.bytes(settings.software),
        ramBytes: settings.ramBytes,
        flashBytes: settings.flashBytes
    )
    if settings.reconnectMilliseconds > 0 {
        leafSettings.reconnectMilliseconds = UInt64(settings.reconnectMilliseconds)
    }
    if settings.maximumReconnectMilliseconds > 0 {
        leafSettings.maximumReconnectMilliseconds = UInt64(settings.maximumReconnectMilliseconds)
    }
    let storage = leafMemory.bindMemory(to: TinyCLeaf.self, capacity: 1)
    guard
        TinyLeaf.start(
            in: storage,
            platform: platform,
            installer: installer,
            settings: leafSettings,
            receiveBuffer: UnsafeMutableRawBufferPointer(start: receive, count: Int(buffers.receiveBytes)),
            sendBuffer: UnsafeMutableRawBufferPointer(start: send, count: Int(buffers.sendBytes)),
            meter: meter
        )
    else { return .noIdentity }
    leafOut.pointee = leafMemory
    return .ok
}

/// `tinyfleet_event_kind tinyfleet_poll(tinyfleet_leaf *, tinyfleet_event *event)`.
@_cdecl("tinyfleet_poll")
public func tinyfleetPoll(_ handle: UnsafeMutableRawPointer?, _ eventOut: UnsafeMutableRawPointer?) -> Int32 {
    guard let handle else { return 0 }
    var event = TinyCEvent()
    switch TinyCInterface.leaf(handle).pointee.poll() {
    case .none: event.kind = 0
    case .connected: event.kind = 1
    case .welcomed(let enrolled):
        event.kind = 2
        event.enrolled = enrolled ? 1 : 0
    case .installed(let version):
        event.kind = 3
        event.version = Int32(truncatingIfNeeded: version)
    case .refused(let version, let code):
        event.kind = 4
        event.version = Int32(truncatingIfNeeded: version)
        event.refusal = code.utf8Start
    case .coordinatorError(let code):
        event.kind = 5
        event.coordinatorError = Int32(truncatingIfNeeded: code)
    case .disconnected: event.kind = 6
    }
    eventOut?.storeBytes(of: event, as: TinyCEvent.self)
    return event.kind
}

/// `tinyfleet_result tinyfleet_predict(tinyfleet_leaf *, const float *input, uint32_t input_count, float *scratch,
/// uint32_t scratch_floats, tinyfleet_prediction *out)`: one int8 inference on the installed model, metered.
@_cdecl("tinyfleet_predict")
public func tinyfleetPredict(
    _ handle: UnsafeMutableRawPointer?,
    _ input: UnsafePointer<Float>?,
    _ inputCount: UInt32,
    _ scratch: UnsafeMutablePointer<Float>?,
    _ scratchFloats: UInt32,
    _ out: UnsafeMutableRawPointer?
) -> Int32 {
    guard let handle, let input, let scratch, let out else { return TinyCResult.invalidArgument.rawValue }
    var prediction = TinyCPrediction()
    let result = predictCLeaf(
        TinyCInterface.leaf(handle),
        UnsafeBufferPointer(start: input, count: Int(inputCount)),
        UnsafeMutableBufferPointer(start: scratch, count: Int(scratchFloats)),
        &prediction
    )
    out.storeBytes(of: prediction, as: TinyCPrediction.self)
    return result.rawValue
}

/// Classifies `input` with the installed model, then meters the query (``TinyLeaf/meterInference()``) before the
/// answer is given: a refused query leaves `predictedClass` -1.
@inline(never)
func predictCLeaf(
    _ leaf: UnsafeMutablePointer<TinyCLeaf>,
    _ input: UnsafeBufferPointer<Float>,
    _ scratch: UnsafeMutableBufferPointer<Float>,
    _ prediction: inout TinyCPrediction
) -> TinyCResult {
    let installer = leaf.pointee.installer
    let (found, problem) = TinyCInterface.layout(installer)
    guard let layout = found else { return problem }
    guard input.count >= layout.inputs else { return .inputTooShort }
    guard scratch.count >= TinyCInterface.scratchFloats(layout) else { return .scratchTooSmall }
    var counter = TinyQueryCounter()
    let answer: TinyPrediction
    do {
        answer = try TinyInference.run(
            layout,
            flash: installer.flash,
            input: input,
            scratch: UnsafeMutableBufferPointer(rebasing: scratch[0..<(2 * layout.widest)]),
            probabilities: UnsafeMutableBufferPointer(rebasing: scratch[(2 * layout.widest)...]),
            meter: &counter
        )
    } catch {
        return .modelUnreadable
    }
    let (result, billing) = TinyCInterface.code(leaf.pointee.meterInference())
    guard result == .ok else { return result }
    prediction.predictedClass = Int32(answer.predictedClass)
    prediction.confidence = answer.confidence
    prediction.billing = billing
    return .ok
}

/// `tinyfleet_result tinyfleet_meter_inference(tinyfleet_leaf *, int32_t *billing)`: meters one query whose answer
/// the integrator computed itself.
@_cdecl("tinyfleet_meter_inference")
public func tinyfleetMeterInference(
    _ handle: UnsafeMutableRawPointer?,
    _ billing: UnsafeMutablePointer<Int32>?
) -> Int32 {
    guard let handle else { return TinyCResult.invalidArgument.rawValue }
    let (result, kind) = TinyCInterface.code(TinyCInterface.leaf(handle).pointee.meterInference())
    billing?.pointee = kind
    return result.rawValue
}

/// `void tinyfleet_get_status(const tinyfleet_leaf *, tinyfleet_status *out)`.
@_cdecl("tinyfleet_get_status")
public func tinyfleetGetStatus(_ handle: UnsafeMutableRawPointer?, _ out: UnsafeMutableRawPointer?) {
    guard let handle, let out else { return }
    let leaf = TinyCInterface.leaf(handle)
    var status = TinyCStatus()
    switch leaf.pointee.phase {
    case .disconnected: status.phase = 0
    case .awaitingHelloAccept: status.phase = 1
    case .awaitingWelcome: status.phase = 2
    case .online: status.phase = 3
    }
    status.enrolled = leaf.pointee.enrolled ? 1 : 0
    status.lastErrorCode = Int32(truncatingIfNeeded: leaf.pointee.lastErrorCode)
    leaf.pointee.withDeviceID { id in
        withUnsafeMutableBytes(of: &status.deviceID) { TinyCInterface.copyString(id, into: $0) }
    }
    let installed = leaf.pointee.installed
    if !installed.isEmpty {
        status.modelVersion = Int32(truncatingIfNeeded: installed.version)
        installed.withFields { name, variant, _ in
            withUnsafeMutableBytes(of: &status.modelName) { TinyCInterface.copyString(name, into: $0) }
            withUnsafeMutableBytes(of: &status.modelVariant) { TinyCInterface.copyString(variant, into: $0) }
        }
        if let layout = TinyCInterface.layout(leaf.pointee.installer).0 {
            status.inputFeatures = UInt32(layout.inputs)
            status.classes = UInt32(layout.outputs)
            status.scratchFloats = UInt32(TinyCInterface.scratchFloats(layout))
        }
    }
    out.storeBytes(of: status, as: TinyCStatus.self)
}

/// `void tinyfleet_get_meter_status(tinyfleet_leaf *, tinyfleet_meter_status *out)`.
@_cdecl("tinyfleet_get_meter_status")
public func tinyfleetGetMeterStatus(_ handle: UnsafeMutableRawPointer?, _ out: UnsafeMutableRawPointer?) {
    guard let handle, let out else { return }
    let leaf = TinyCInterface.leaf(handle)
    var status = TinyCMeterStatus()
    status.quotaSynced = leaf.pointee.quotaSynced ? 1 : 0
    status.refusedGrants = UInt32(truncatingIfNeeded: leaf.pointee.refusedGrants)
    if let meter = leaf.pointee.meter {
        status.hasMeter = 1
        status.highestGrantSequence = meter.highestSequence
        status.unsyncedReceipts = UInt32(truncatingIfNeeded: meter.unsyncedEntries)
        status.pushedMetered = meter.isPushedMetered ? 1 : 0
        let installed = leaf.pointee.installed
        if !installed.isEmpty {
            let now = leaf.pointee.platform.monotonicMilliseconds()
            installed.withFields { name, _, _ in
                status.modelMetered = meter.isMetered(name) ? 1 : 0
                status.remainingQueries = meter.remaining(name, monotonic: now)
            }
        }
    }
    out.storeBytes(of: status, as: TinyCMeterStatus.self)
}

/// `void tinyfleet_stop(tinyfleet_leaf *)`: goodbye and close; a later poll connects again.
@_cdecl("tinyfleet_stop")
public func tinyfleetStop(_ handle: UnsafeMutableRawPointer?) {
    guard let handle else { return }
    TinyCInterface.leaf(handle).pointee.stop()
}

/// `void tinyfleet_release(tinyfleet_leaf *)`: ends the leaf (the installer's decoder state is freed); the
/// integrator's buffers are its own again.
@_cdecl("tinyfleet_release")
public func tinyfleetRelease(_ handle: UnsafeMutableRawPointer?) {
    guard let handle else { return }
    TinyCInterface.leaf(handle).deinitialize(count: 1)
}
