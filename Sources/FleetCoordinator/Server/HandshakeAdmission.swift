import Synchronization

/// The coordinator-wide caps on connections that have not been welcomed yet (Protocol/SPEC.md, section 6.6):
/// how many there may be at once, and how many bytes they may have sent, together, before their `welcome`.
/// A connection is counted from its accept until it is welcomed or closed; so is every byte it sent meanwhile
/// (the bytes of frames already decoded too, so the count bounds what the partial frames can hold).
final class HandshakeAdmission: Sendable {
    struct Limits: Sendable, Equatable {
        var maximumConnections: Int
        var maximumBytes: Int
    }

    struct Usage: Sendable, Equatable {
        var connections = 0
        var bytes = 0
    }

    let limits: Limits
    private let usage = Mutex(Usage())
    /// `busy` answers not logged yet, and when the last log line was written (one line per 10 s at most).
    private let busyLog = Mutex((unlogged: 0, lastLogged: ContinuousClock.Instant?.none))

    init(limits: Limits) {
        self.limits = limits
    }

    var current: Usage { usage.withLock { $0 } }

    /// Counts a new connection, or returns false when the cap is reached.
    func admitConnection() -> Bool {
        usage.withLock { usage in
            guard usage.connections < limits.maximumConnections else { return false }
            usage.connections += 1
            return true
        }
    }

    /// Counts `count` more bytes received before `welcome`, or returns false when they would pass the cap.
    func reserve(_ count: Int) -> Bool {
        usage.withLock { usage in
            guard usage.bytes + count <= limits.maximumBytes else { return false }
            usage.bytes += count
            return true
        }
    }

    /// Counts a `busy` answer; returns how many to log now (nil: stay quiet, a line was written recently).
    func noteBusy(now: ContinuousClock.Instant = .now) -> Int? {
        busyLog.withLock { log in
            log.unlogged += 1
            if let last = log.lastLogged, now - last < .seconds(10) { return nil }
            defer { log = (0, now) }
            return log.unlogged
        }
    }

    /// The connection was welcomed or closed: it and its bytes no longer count.
    func release(bytes: Int) {
        usage.withLock { usage in
            usage.connections -= 1
            usage.bytes -= bytes
        }
    }
}

/// Why the coordinator answered `busy` instead of serving a connection's handshake.
struct HandshakeRefusal: Error, Equatable {
    /// For the client's log (`busy.message`).
    var reason: String
    /// The wait to announce, when it differs from the configured one (a source refused too often).
    var retryAfterMilliseconds: Int?
}
