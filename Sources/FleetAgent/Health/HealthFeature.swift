import FleetStore
import FleetWire
import Foundation
import Logging

/// Sends the device's health summaries (SPEC 5.41): at a tick once `interval` has passed since it last looked,
/// when something was counted (inferences, feedback, or a start of the agent). The coordinator's heartbeat
/// acknowledgements tick at least every heartbeat interval, so a summary leaves within the larger of the two.
/// A summary stays in the database until acknowledged and is sent again after a reconnect.
public actor HealthFeature: AgentFeature {
    private let recorder: HealthRecorder
    private let interval: Duration
    private let logger: Logger
    private var inFlight: UInt64?
    /// When the database was last looked at for a summary to send (every message ticks, transfer chunks too).
    private var lastChecked: ContinuousClock.Instant?

    public init(store: AgentStore, interval: Duration, logger: Logger) {
        recorder = HealthRecorder(store: store)
        self.interval = interval
        self.logger = logger
    }

    /// Counts this start of the agent.
    public func run() async {
        do {
            try await recorder.countStart()
        } catch {
            logger.warning("agent start not counted in the health summary", metadata: ["error": "\(error)"])
        }
    }

    public func connected(_ link: AgentLink) async throws {
        inFlight = nil
        lastChecked = nil
        try await send(link)
    }

    public func tick(_ link: AgentLink) async throws {
        if let lastChecked, ContinuousClock.now - lastChecked < interval { return }
        try await send(link)
    }

    public func disconnected() async {
        inFlight = nil
    }

    public func handle(_ message: Message, _ link: AgentLink) async throws -> Bool {
        switch message {
        case .ack(let ack) where ack.requestID == inFlight:
            inFlight = nil
            try await recorder.sent()
            return true
        case .error(let error) where error.requestID != 0 && error.requestID == inFlight:
            inFlight = nil
            if error.code != .unavailable && error.code != .internalError {
                logger.warning("health summary refused; dropped", metadata: ["error": "\(error.message)"])
                try await recorder.sent()
            }
            return true
        default:
            return false
        }
    }

    private func send(_ link: AgentLink) async throws {
        guard inFlight == nil else { return }
        lastChecked = ContinuousClock.now
        guard var summary = try await recorder.due() else { return }
        summary.requestID = link.nextRequestID()
        inFlight = summary.requestID
        try await link.send(.healthSummary(summary))
    }
}
