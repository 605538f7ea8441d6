import FleetWire

/// The agent's connection life as an explicit state machine (after Mender's daemon): the runtime reports
/// events, the machine answers with the one action to carry out next. No I/O, no clock, no randomness
/// of its own, so every transition, failures included, is tested as a table.
///
/// ```
/// idle --start--> connecting --connected--> handshaking --helloAccepted--> enrolling | authenticating
/// enrolling/authenticating --welcomed--> online(attempt) --established--> online(0)
/// online --disconnected--> waiting(attempt + 1) --retry--> connecting
/// any --connectionFailed/refused(retryable)--> waiting;  refused(permanent) --> stopped(failure)
/// ```
///
/// The backoff starts again from the first attempt only after a session that did useful work (`established`):
/// a session that fails soon after authenticating, each time (say the agent's disk is full and every write
/// fails), keeps backing off instead of reconnecting at once, over and over.
public struct AgentStateMachine: Sendable, Equatable {
    public enum State: Sendable, Equatable {
        case idle
        case connecting(attempt: Int)
        case handshaking(attempt: Int)
        case enrolling(attempt: Int)
        case authenticating(attempt: Int)
        /// Authenticated on the connection of `attempt`; 0 once the session is established.
        case online(attempt: Int)
        case waiting(attempt: Int)
        case stopped(StopReason)
    }

    public enum StopReason: Sendable, Equatable {
        case shutdown
        case needsToken
        case enrolmentRefused(ErrorCode)
        case deviceUnknown
        case incompatible
    }

    public enum Event: Sendable, Equatable {
        case start
        case connected
        case helloAccepted
        case welcomed
        /// The session did useful work: the coordinator answered a heartbeat, and everything it sent before
        /// was handled without a failure.
        case established
        case refused(ErrorCode)
        case connectionFailed
        case disconnected
        case retryTimerFired
        case shutdown
    }

    public enum Action: Sendable, Equatable {
        case connect
        case sendHello
        case enrol
        case authenticate
        /// Persist that the device is enrolled (its id), then carry on online.
        case markEnrolled
        /// Start heartbeats and the state report.
        case runSession
        case wait(attempt: Int)
        case stop(StopReason)
        case none
    }

    public private(set) var state: State = .idle
    public private(set) var enrolled: Bool
    public let hasToken: Bool

    public init(enrolled: Bool, hasToken: Bool) {
        self.enrolled = enrolled
        self.hasToken = hasToken
    }

    public mutating func handle(_ event: Event) -> Action {
        switch (state, event) {
        case (.stopped, _):
            return .none
        case (_, .shutdown):
            return stop(.shutdown)
        case (.idle, .start):
            guard enrolled || hasToken else { return stop(.needsToken) }
            state = .connecting(attempt: 1)
            return .connect
        case (.connecting(let attempt), .connected):
            state = .handshaking(attempt: attempt)
            return .sendHello
        case (.handshaking(let attempt), .helloAccepted):
            if enrolled {
                state = .authenticating(attempt: attempt)
                return .authenticate
            }
            state = .enrolling(attempt: attempt)
            return .enrol
        case (.enrolling(let attempt), .welcomed):
            enrolled = true
            state = .online(attempt: attempt)
            return .markEnrolled
        case (.authenticating(let attempt), .welcomed):
            state = .online(attempt: attempt)
            return .runSession
        case (.online, .established):
            state = .online(attempt: 0)
            return .none
        case (.enrolling(let attempt), .refused(let code)):
            switch code {
            case .keyAlreadyEnrolled:
                // Enrolled before a crash lost the acknowledgement: the key is ours, so authenticate.
                enrolled = true
                return retry(after: attempt)
            case .tokenUnknown, .tokenUsed, .tokenExpired, .badSignature:
                return stop(.enrolmentRefused(code))
            default:
                return refused(code, attempt: attempt)
            }
        case (.authenticating(let attempt), .refused(let code)):
            if code == .unknownDevice { return stop(.deviceUnknown) }
            return refused(code, attempt: attempt)
        case (.connecting(let attempt), .refused(let code)), (.handshaking(let attempt), .refused(let code)):
            return refused(code, attempt: attempt)
        case (.online(let attempt), .refused), (.online(let attempt), .disconnected),
            (.online(let attempt), .connectionFailed):
            return retry(after: attempt)
        case (.connecting(let attempt), .connectionFailed), (.handshaking(let attempt), .connectionFailed),
            (.enrolling(let attempt), .connectionFailed), (.authenticating(let attempt), .connectionFailed),
            (.connecting(let attempt), .disconnected), (.handshaking(let attempt), .disconnected),
            (.enrolling(let attempt), .disconnected), (.authenticating(let attempt), .disconnected):
            return retry(after: attempt)
        case (.waiting(let attempt), .retryTimerFired):
            state = .connecting(attempt: attempt)
            return .connect
        default:
            return .none
        }
    }

    private mutating func refused(_ code: ErrorCode, attempt: Int) -> Action {
        if code == .unsupportedVersion { return stop(.incompatible) }
        return retry(after: attempt)
    }

    /// After an established session (attempt 0), the next attempt is the first again.
    private mutating func retry(after attempt: Int) -> Action {
        state = .waiting(attempt: attempt + 1)
        return .wait(attempt: attempt + 1)
    }

    private mutating func stop(_ reason: StopReason) -> Action {
        state = .stopped(reason)
        return .stop(reason)
    }
}

extension AgentStateMachine.StopReason: CustomStringConvertible {
    public var description: String {
        switch self {
        case .shutdown: "shut down"
        case .needsToken:
            "not enrolled yet: create a token with `fleetctl token create` and start the agent with --token TOKEN"
        case .enrolmentRefused(let code):
            "enrolment refused (\(code.name)): create a new token with `fleetctl token create` and restart with --token"
        case .deviceUnknown:
            "the coordinator does not know this device (removed?): delete the agent's data directory and enrol again"
        case .incompatible: "no common protocol version with the coordinator: upgrade the agent or the coordinator"
        }
    }
}
