/// What a leaf says about itself. The byte fields point at memory the integrator keeps for the leaf's lifetime.
public struct TinyLeafSettings {
    /// The enrolment token (`tft_…`), used only until the leaf is enrolled.
    public var token: UnsafeRawBufferPointer
    /// The device's name in `fleetctl devices`; empty: the coordinator names it by its id.
    public var name: UnsafeRawBufferPointer
    /// Software version, e.g. `fleet-tiny/0.1.0`.
    public var software: UnsafeRawBufferPointer
    /// RAM and flash the models may use, in bytes (reported as the `ram`, `flash` and `storage` capabilities).
    public var ramBytes: UInt64
    public var flashBytes: UInt64
    /// First wait before reconnecting; it doubles after each failed connection up to ``maximumReconnectMilliseconds``.
    public var reconnectMilliseconds: UInt64 = 500
    public var maximumReconnectMilliseconds: UInt64 = 30_000

    public init(
        token: UnsafeRawBufferPointer,
        name: UnsafeRawBufferPointer,
        software: UnsafeRawBufferPointer,
        ramBytes: UInt64,
        flashBytes: UInt64
    ) {
        self.token = token
        self.name = name
        self.software = software
        self.ramBytes = ramBytes
        self.flashBytes = flashBytes
    }
}

/// Where a leaf's connection is.
public enum TinyLeafPhase: Equatable {
    /// Not connected; the next attempt is due at a time of the platform's clock.
    case disconnected
    /// hello sent.
    case awaitingHelloAccept
    /// enrol or authenticate sent.
    case awaitingWelcome
    /// Welcomed: heartbeats, state reports and model delivery.
    case online
}

/// What happened in one ``TinyLeaf/poll()``, for the integrator's log.
public enum TinyLeafEvent: Equatable {
    case none
    /// The connection was opened and hello sent.
    case connected
    /// welcome arrived (after an enrolment the first time).
    case welcomed(enrolled: Bool)
    /// A model version was installed and reported.
    case installed(version: Int)
    /// A desired model was refused (code as in SPEC.md 11.6) or its install failed.
    case refused(version: Int, code: StaticString)
    /// The coordinator sent an error (code, SPEC.md section 15) that ended the connection.
    case coordinatorError(code: Int)
    /// The connection ended (closed, a protocol error, or `busy`).
    case disconnected

    public static func == (lhs: TinyLeafEvent, rhs: TinyLeafEvent) -> Bool {
        switch (lhs, rhs) {
        case (.none, .none), (.connected, .connected), (.disconnected, .disconnected): true
        case (.welcomed(let a), .welcomed(let b)): a == b
        case (.installed(let a), .installed(let b)): a == b
        case (.coordinatorError(let a), .coordinatorError(let b)): a == b
        case (.refused(let a, let x), .refused(let b, let y)):
            a == b
                && x.withUTF8Buffer { p in
                    y.withUTF8Buffer { TinyBytes.equal(UnsafeRawBufferPointer(p), UnsafeRawBufferPointer($0)) }
                }
        default: false
        }
    }
}
