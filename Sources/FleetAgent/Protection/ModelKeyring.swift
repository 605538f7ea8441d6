import Synchronization

/// The device's model-protection key, in memory only (`Protocol/AT-REST.md`): received from the coordinator at
/// the start of each session, usable while connected and for `offlineLease` after the session ends, then
/// forgotten. Nothing of it is ever written to disk, so after a restart protected models stay locked until the
/// coordinator is reached again.
///
/// Shared by the session (which sets it) and the local socket (which opens protected models with it).
public final class ModelKeyring: Sendable {
    private struct State {
        var key: [UInt8]?
        var connected = false
        var disconnectedAt: ContinuousClock.Instant?
        var leaseExpired = false
    }

    /// How long the key stays usable after the coordinator was last reachable.
    public let offlineLease: Duration
    private let state = Mutex(State())

    public init(offlineLease: Duration) {
        self.offlineLease = offlineLease
    }

    /// A session delivered the key.
    func received(_ key: [UInt8]) {
        state.withLock {
            $0.key = key
            $0.connected = true
            $0.disconnectedAt = nil
            $0.leaseExpired = false
        }
    }

    /// The session ended: the offline lease starts now.
    func disconnected(at instant: ContinuousClock.Instant = .now) {
        state.withLock {
            guard $0.connected else { return }
            $0.connected = false
            $0.disconnectedAt = instant
        }
    }

    /// The key, or nil when none was received since the start or the offline lease ran out (the key is then
    /// dropped, so it comes back only from the coordinator).
    func key(at instant: ContinuousClock.Instant = .now) -> [UInt8]? {
        state.withLock {
            if !$0.connected, let since = $0.disconnectedAt, instant - since > offlineLease {
                $0.key = nil
                $0.disconnectedAt = nil
                $0.leaseExpired = true
            }
            return $0.key
        }
    }

    /// Whether a session with the coordinator is up now (it delivered the key and has not ended).
    public var isConnected: Bool { state.withLock { $0.connected } }

    /// Why there is no key, for error messages.
    var lockedReason: String {
        state.withLock {
            $0.leaseExpired
                ? "the agent lost the coordinator more than \(offlineLease) ago (its --offline-lease)"
                : "the agent has not received its key from the coordinator since it started"
        }
    }
}
