/// A leaf's session with the coordinator (through its gateway), as a state machine driven by ``poll()``: connect,
/// hello, enrol the first time (identity key generated from the platform's random bytes and kept in its key
/// storage) or authenticate by signing the connection's nonce, heartbeats, a stateReport with the leaf's
/// capabilities, then desiredState → signed manifest checked with the pinned release key → fetchModel → chunks
/// into the ``TinyModelInstaller`` (payload SHA-256 checked) → modelReport. Nothing is allocated: frames are read
/// and written in the two buffers given at start-up.
public struct TinyLeaf<Platform: TinyPlatform, Installer: TinyModelInstaller> {
    public var platform: Platform
    public var installer: Installer
    public let settings: TinyLeafSettings
    public private(set) var phase = TinyLeafPhase.disconnected
    /// The model installed, if any (``TinyInstalledModel/isEmpty`` otherwise).
    public internal(set) var installed = TinyInstalledModel()
    /// Whether this identity has been enrolled.
    public private(set) var enrolled = false
    /// The last error code the coordinator sent (0: none).
    public private(set) var lastErrorCode = 0

    private var frames: TinyFrameReader
    private let sendBuffer: UnsafeMutableRawBufferPointer
    // Internal, not private: the metering extension (TinyLeaf+Metering.swift) signs and sends with them.
    var seed = TinyDigest32()
    var publicKey = TinyDigest32()
    /// `d-` and 16 hex digits.
    var deviceID: (UInt64, UInt64, UInt64) = (0, 0, 0)
    var releaseKey = TinyDigest32()
    var hasReleaseKey = false
    private var nextRequestID: UInt64 = 1
    private var nextAttempt: UInt64 = 0
    private var backoff: UInt64
    private var heartbeatInterval: UInt64 = 5000
    var offlineTimeout: UInt64 = 15_000
    private var lastSent: UInt64 = 0
    /// When bytes last arrived (or the connection opened): a silent link is dropped (``silenceLimit``).
    private var lastReceived: UInt64 = 0
    var transfer = TinyTransfer()
    var pendingReport = TinyPendingReport()
    var refusal = TinyPendingReport()
    /// Pay-per-query (nil: the integrator gave no meter; grants are dropped and every model answers freely). Its
    /// stored counters and grants are loaded by the first ``poll()`` or ``meterInference()``, not at start.
    public internal(set) var meter: TinyLeafMeter?
    var meterLink = TinyMeterLink()

    /// Loads (or creates and stores) the identity key and the pinned state. Nil when the platform cannot give
    /// random bytes or store the key: the leaf cannot have an identity then.
    /// `receiveBuffer` must hold at least 4 + 1024 bytes, `sendBuffer` at least 512 (at least 640 with a `meter`,
    /// for a usageReport). `meter`: the leaf meters its models' queries (``meterInference()``), its counters and
    /// grants kept through the platform's meter records.
    /// On a microcontroller prefer ``start(in:platform:installer:settings:receiveBuffer:sendBuffer:meter:)``: this
    /// initializer builds the leaf on the stack and returns a copy of it, with the identity key computed meanwhile.
    public init?(
        platform: Platform,
        installer: Installer,
        settings: TinyLeafSettings,
        receiveBuffer: UnsafeMutableRawBufferPointer,
        sendBuffer: UnsafeMutableRawBufferPointer,
        meter: TinyLeafMeter? = nil
    ) {
        guard Self.buffersFit(receiveBuffer, sendBuffer, meter) else { return nil }
        self.init(
            fields: platform,
            installer: installer,
            settings: settings,
            receiveBuffer: receiveBuffer,
            sendBuffer: sendBuffer
        )
        guard load(meter: meter) else { return nil }
    }

    /// Builds the leaf in `storage` (uninitialized memory for one leaf that the integrator provides and keeps, such
    /// as a static or a start-up allocation), as ``init(platform:installer:settings:receiveBuffer:sendBuffer:meter:)``
    /// does, without a copy of the leaf on the stack while its identity key is computed: the fields are written
    /// first, then the identity and the pinned state are loaded in place. False (and `storage` left uninitialized)
    /// when the initializer would give nil. Use `storage.pointee` afterwards (`poll()` and the rest run in place).
    public static func start(
        in storage: UnsafeMutablePointer<Self>,
        platform: Platform,
        installer: Installer,
        settings: TinyLeafSettings,
        receiveBuffer: UnsafeMutableRawBufferPointer,
        sendBuffer: UnsafeMutableRawBufferPointer,
        meter: TinyLeafMeter? = nil
    ) -> Bool {
        guard buffersFit(receiveBuffer, sendBuffer, meter) else { return false }
        initialize(storage, platform, installer, settings, receiveBuffer, sendBuffer)
        guard storage.pointee.load(meter: meter) else {
            storage.deinitialize(count: 1)
            return false
        }
        return true
    }

    /// Writes the fields into `storage`. Never inlined: the leaf value the compiler builds before writing it
    /// (1.3 KB on the Cortex-M4) is gone before the identity key is computed.
    @inline(never)
    private static func initialize(
        _ storage: UnsafeMutablePointer<Self>,
        _ platform: Platform,
        _ installer: Installer,
        _ settings: TinyLeafSettings,
        _ receiveBuffer: UnsafeMutableRawBufferPointer,
        _ sendBuffer: UnsafeMutableRawBufferPointer
    ) {
        storage.initialize(
            to: Self(
                fields: platform,
                installer: installer,
                settings: settings,
                receiveBuffer: receiveBuffer,
                sendBuffer: sendBuffer
            )
        )
    }

    private static func buffersFit(
        _ receiveBuffer: UnsafeMutableRawBufferPointer,
        _ sendBuffer: UnsafeMutableRawBufferPointer,
        _ meter: TinyLeafMeter?
    ) -> Bool {
        receiveBuffer.count >= 4 + 1024 && sendBuffer.count >= (meter == nil ? 512 : 640)
    }

    /// The fields alone, nothing loaded (never inlined: its frame is gone before the identity key is computed).
    @inline(never)
    private init(
        fields platform: Platform,
        installer: Installer,
        settings: TinyLeafSettings,
        receiveBuffer: UnsafeMutableRawBufferPointer,
        sendBuffer: UnsafeMutableRawBufferPointer
    ) {
        self.platform = platform
        self.installer = installer
        self.settings = settings
        self.frames = TinyFrameReader(buffer: receiveBuffer)
        self.sendBuffer = sendBuffer
        self.backoff = settings.reconnectMilliseconds
    }

    /// The identity and the pinned state; the meter is kept, its records loaded later (``loadMeterOnce()``). False
    /// when there is no identity.
    @inline(never)
    private mutating func load(meter: TinyLeafMeter?) -> Bool {
        guard loadIdentity() else { return false }
        loadPinnedState()
        self.meter = meter
        return true
    }

    /// The device id (`d-` + 16 hex digits) derived from the identity key (SPEC.md 7.4).
    public func withDeviceID<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        withUnsafeBytes(of: deviceID) { body(UnsafeRawBufferPointer(rebasing: $0[0..<18])) }
    }

    /// Does what is due now: connect when a retry is due, read and handle what arrived, send a heartbeat when one
    /// is due. Returns the most notable thing that happened.
    public mutating func poll() -> TinyLeafEvent {
        loadMeterOnce()
        let now = platform.monotonicMilliseconds()
        if phase == .disconnected {
            guard now >= nextAttempt else { return .none }
            guard platform.connect() else {
                scheduleRetry(now)
                return .none
            }
            frames.reset()
            lastReceived = now
            phase = .awaitingHelloAccept
            let software = settings.software
            let maximumLength = frames.maximumLength
            let sent = send { writer throws(TinyWireError) in
                try TinyOutbound.hello(
                    software: software,
                    maximumFrameLength: maximumLength,
                    into: &writer
                )
            }
            return sent ? .connected : drop(now)
        }
        var event = TinyLeafEvent.none
        while true {
            let count = frames.receive(from: &platform)
            if count < 0 { return drop(now) }
            if count > 0 { lastReceived = now }
            while true {
                let frame: TinyFrame?
                do {
                    frame = try frames.next()
                } catch {
                    return drop(now)
                }
                guard let frame else { break }
                let result = handle(frame, now: now)
                if phase == .disconnected { return result }
                if result != .none { event = result }
            }
            if count == 0 { break }
        }
        // Nothing from the coordinator for too long (a UART never reports a closed link): start again.
        if phase != .disconnected, now > lastReceived + silenceLimit { return drop(now) }
        if phase == .online, transfer.wanted, !transfer.active, now >= transfer.retryAt {
            let target = transfer.target
            guard startFetch(target, size: transfer.targetSize) else { return drop(now) }
        }
        if phase == .online, !syncUsage(now) { return drop(now) }
        if phase == .online, now >= lastSent + heartbeatInterval {
            guard send({ writer throws(TinyWireError) in try TinyOutbound.empty(.heartbeat, into: &writer) }) else {
                return drop(now)
            }
        }
        return event
    }

    /// Ends the connection cleanly (goodbye, then close).
    public mutating func stop() {
        if phase == .online {
            _ = send { writer throws(TinyWireError) in try TinyOutbound.empty(.goodbye, into: &writer) }
        }
        platform.disconnect()
        phase = .disconnected
    }

    // MARK: - Frames

    private mutating func handle(_ frame: TinyFrame, now: UInt64) -> TinyLeafEvent {
        let message: TinyInbound
        do {
            message = try TinyInbound(frame)
        } catch {
            return drop(now)
        }
        switch (phase, message) {
        case (_, .error(let error)):
            lastErrorCode = error.code
            if error.requestID != 0, phase == .online {
                meterRequestFailed(error.requestID, code: error.code, now: now)
                if transfer.active, error.requestID == transfer.requestID {
                    // The fetch failed (the coordinator or the gateway could not serve it): again in 5 s, resuming.
                    transfer.active = false
                    transfer.retryAt = now + Self.fetchRetryMilliseconds
                }
                return .none
            }
            if error.code == 206 { markEnrolled() }  // key already enrolled: authenticate next time
            _ = drop(now)
            return .coordinatorError(code: error.code)
        case (_, .busy(let retry, _)):
            platform.disconnect()
            phase = .disconnected
            nextAttempt = now + UInt64(retry) + UInt64(retry / 2)
            return .disconnected
        case (.awaitingHelloAccept, .helloAccept(let accept)):
            heartbeatInterval = UInt64(max(accept.heartbeatIntervalMilliseconds, 100))
            offlineTimeout = UInt64(max(accept.offlineTimeoutMilliseconds, 300))
            frames.maximumLength = min(frames.maximumLength, max(accept.maximumFrameLength, 1024))
            meter?.setServerTime(accept.serverTimeMilliseconds, monotonic: now)
            phase = .awaitingWelcome
            return sendCredentials(nonce: accept.nonce) ? .none : drop(now)
        case (.awaitingWelcome, .welcome(let welcome)):
            let wasEnrolled = enrolled
            if !enrolled { markEnrolled() }
            if !hasReleaseKey, welcome.releasePublicKey.count == 32 {
                releaseKey = TinyDigest32(bytes: welcome.releasePublicKey)
                hasReleaseKey = releaseKey.withUnsafeBytes { platform.storeRecord(.releaseKey, $0) }
            }
            phase = .online
            backoff = settings.reconnectMilliseconds
            meterLink = TinyMeterLink()
            guard sendStateReport(), resendPendingReport(), sendQuotaSync() else { return drop(now) }
            return .welcomed(enrolled: !wasEnrolled)
        case (.online, .heartbeatAck):
            return .none
        case (.online, .ack(let requestID)):
            if pendingReport.active, requestID == pendingReport.requestID { pendingReport.active = false }
            meterAcknowledged(requestID)
            return .none
        case (.online, .quotaGrants(let grants)):
            return receiveGrants(grants) ? .none : drop(now)
        case (.online, .desiredState(let desired)):
            return handleDesired(desired, now: now)
        case (.online, .transferStart(let start)):
            return handleStart(start, now: now)
        case (.online, .transferChunk(let chunk)):
            return handleChunk(chunk, now: now)
        case (.online, .other):
            return .none
        default:
            // A message that does not belong in this phase: the peer does not follow SPEC.md 6.
            return drop(now)
        }
    }

    private mutating func sendCredentials(nonce: UnsafeRawBufferPointer) -> Bool {
        var challenge:
            (
                UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                UInt64, UInt64, UInt64, UInt64
            ) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var signature = (TinyDigest32(), TinyDigest32())
        var id = deviceID
        let key = publicKey
        let secret = seed
        let isEnrolled = enrolled
        let settings = settings
        return withUnsafeMutableBytes(of: &challenge) { scratch in
            withUnsafeMutableBytes(of: &signature) { signatureBytes in
                withUnsafeBytes(of: &id) { idRaw in
                    let idBytes = UnsafeRawBufferPointer(rebasing: idRaw[0..<18])
                    return key.withUnsafeBytes { keyBytes in
                        let length =
                            isEnrolled
                            ? TinyChallenge.authenticate(nonce: nonce, deviceID: idBytes, into: scratch)
                            : TinyChallenge.enrol(nonce: nonce, publicKey: keyBytes, into: scratch)
                        secret.withUnsafeBytes { seedBytes in
                            TinyEd25519.sign(
                                message: UnsafeRawBufferPointer(rebasing: scratch[0..<length]),
                                seed: seedBytes,
                                publicKey: keyBytes,
                                into: signatureBytes
                            )
                        }
                        let signed = UnsafeRawBufferPointer(signatureBytes)
                        if isEnrolled {
                            return send { writer throws(TinyWireError) in
                                try TinyOutbound.authenticate(
                                    deviceID: idBytes,
                                    nonce: nonce,
                                    signature: signed,
                                    into: &writer
                                )
                            }
                        }
                        return Self.withCapabilities(settings) { capabilities in
                            send { writer throws(TinyWireError) in
                                try TinyOutbound.enrol(
                                    token: settings.token,
                                    publicKey: keyBytes,
                                    signature: signed,
                                    name: settings.name,
                                    labels: UnsafeBufferPointer(start: nil, count: 0),
                                    capabilities: capabilities,
                                    software: settings.software,
                                    into: &writer
                                )
                            }
                        }
                    }
                }
            }
        }
    }

    mutating func sendStateReport() -> Bool {
        let requestID = takeRequestID()
        var model = installed
        let count = installed.isEmpty ? 0 : 1
        let settings = settings
        return Self.withCapabilities(settings) { capabilities in
            withUnsafeMutablePointer(to: &model) { pointer in
                let list = UnsafeBufferPointer(start: pointer, count: count)
                return send { writer throws(TinyWireError) in
                    try TinyOutbound.stateReport(
                        requestID: requestID,
                        software: settings.software,
                        capabilities: capabilities,
                        installed: list,
                        into: &writer
                    )
                }
            }
        }
    }

    /// Calls `body` with the capabilities map, sorted: arch, class, flash, ram, storage (`storage` repeats
    /// `flash` so that a variant's `min-storage` applies as on a Linux agent).
    private static func withCapabilities<R>(
        _ settings: TinyLeafSettings,
        _ body: (UnsafeBufferPointer<TinyPair>) -> R
    ) -> R {
        var digits: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0)
        return withUnsafeMutableBytes(of: &digits) { scratch in
            let flashCount = TinyBytes.decimal(
                settings.flashBytes,
                into: UnsafeMutableRawBufferPointer(rebasing: scratch[0..<24])
            )
            let ramCount = TinyBytes.decimal(
                settings.ramBytes,
                into: UnsafeMutableRawBufferPointer(rebasing: scratch[24..<48])
            )
            let flash = UnsafeRawBufferPointer(rebasing: scratch[0..<flashCount])
            let ram = UnsafeRawBufferPointer(rebasing: scratch[24..<(24 + ramCount)])
            var pairs = (
                TinyPair(key: ("arch" as StaticString).tinyBytes, value: ("armv7em" as StaticString).tinyBytes),
                TinyPair(key: ("class" as StaticString).tinyBytes, value: ("mcu" as StaticString).tinyBytes),
                TinyPair(key: ("flash" as StaticString).tinyBytes, value: flash),
                TinyPair(key: ("ram" as StaticString).tinyBytes, value: ram),
                TinyPair(key: ("storage" as StaticString).tinyBytes, value: flash)
            )
            return withUnsafeMutablePointer(to: &pairs) { pointer in
                pointer.withMemoryRebound(to: TinyPair.self, capacity: 5) {
                    body(UnsafeBufferPointer(start: $0, count: 5))
                }
            }
        }
    }

    // MARK: - Connection

    /// Encodes one frame with `encode` into the send buffer and sends it. Not inlined: one copy for every message.
    @inline(never)
    mutating func send(_ encode: (inout TinyWireWriter) throws(TinyWireError) -> UnsafeRawBufferPointer) -> Bool {
        var writer = TinyWireWriter(sendBuffer)
        guard let frame = try? encode(&writer) else { return false }
        lastSent = platform.monotonicMilliseconds()
        return platform.send(frame)
    }

    @inline(never)  // called from several places: one copy
    mutating func drop(_ now: UInt64) -> TinyLeafEvent {
        platform.disconnect()
        phase = .disconnected
        scheduleRetry(now)
        if transfer.active { transfer.active = false }
        return .disconnected
    }

    private mutating func scheduleRetry(_ now: UInt64) {
        var jitter = (UInt64(0), UInt64(0))
        let random = withUnsafeMutableBytes(of: &jitter) { platform.fillRandom($0) } ? jitter.0 % (backoff / 2 + 1) : 0
        nextAttempt = now + backoff / 2 + random
        backoff = min(backoff * 2, settings.maximumReconnectMilliseconds)
    }

    mutating func takeRequestID() -> UInt64 {
        defer { nextRequestID += 1 }
        return nextRequestID
    }

    // MARK: - Identity and pinned state

    private mutating func loadIdentity() -> Bool {
        var stored = TinyDigest32()
        var have = false
        withUnsafeMutableBytes(of: &stored) { have = platform.loadRecord(.identitySeed, into: $0) }
        if !have {
            var fresh = TinyDigest32()
            let filled = withUnsafeMutableBytes(of: &fresh) { platform.fillRandom($0) }
            guard filled, fresh.withUnsafeBytes({ platform.storeRecord(.identitySeed, $0) }) else { return false }
            stored = fresh
        }
        seed = stored
        var key = TinyDigest32()
        withUnsafeMutableBytes(of: &key) { keyBytes in
            seed.withUnsafeBytes { TinyEd25519.publicKey(seed: $0, into: keyBytes) }
        }
        publicKey = key
        let digest = publicKey.withUnsafeBytes { TinySHA256.hash($0) }
        withUnsafeMutableBytes(of: &deviceID) { raw in
            raw[0] = 0x64  // d
            raw[1] = 0x2D  // -
            digest.withUnsafeBytes { bytes in
                _ = TinyBytes.hex(
                    UnsafeRawBufferPointer(rebasing: bytes[0..<8]),
                    into: UnsafeMutableRawBufferPointer(rebasing: raw[2..<18])
                )
            }
        }
        return true
    }

    private mutating func loadPinnedState() {
        var flag: UInt8 = 0
        enrolled = withUnsafeMutableBytes(of: &flag) { platform.loadRecord(.enrolled, into: $0) } && flag == 1
        var key = TinyDigest32()
        hasReleaseKey = withUnsafeMutableBytes(of: &key) { platform.loadRecord(.releaseKey, into: $0) }
        releaseKey = key
        var record: (TinyInstalledModel) = TinyInstalledModel()
        var raw: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        let loaded = withUnsafeMutableBytes(of: &raw) { platform.loadRecord(.installedModel, into: $0) }
        if loaded, let model = withUnsafeBytes(of: raw, { TinyInstalledModel(record: $0) }) { record = model }
        installed = installer.installedModel() ?? record
    }

    private mutating func markEnrolled() {
        var flag: UInt8 = 1
        enrolled = withUnsafeBytes(of: &flag) { platform.storeRecord(.enrolled, $0) }
    }
}
