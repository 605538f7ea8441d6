import FleetStore
import FleetWire
import Foundation
import Logging

/// Sends the device's health summaries (SPEC 5.41): a timer of its own looks every `interval` while connected and
/// sends one when something was counted (inferences, feedback, or a start of the agent), and at once on connecting.
/// So a summary leaves within `interval` of what it counts, whatever the heartbeat interval. A summary stays in the
/// database until acknowledged and is sent again after a reconnect.
public actor HealthFeature: AgentFeature {
    private let recorder: HealthRecorder
    private let interval: Duration
    private let logger: Logger
    private var inFlight: UInt64?
    /// The current connection, for the timer; nil while disconnected.
    private var link: AgentLink?

    public init(store: AgentStore, interval: Duration, logger: Logger) {
        recorder = HealthRecorder(store: store)
        self.interval = interval
        self.logger = logger
    }

    /// Counts this start of the agent, then looks for a summary to send every `interval` while connected.
    public func run() async {
        do {
            try await recorder.countStart()
        } catch {
            logger.warning("agent start not counted in the health summary", metadata: ["error": "\(error)"])
        }
        while (try? await Task.sleep(for: interval)) != nil {
            guard let link else { continue }
            do {
                try await send(link)
            } catch {
                // The session sees the broken connection itself and reconnects; the summary waits in the database.
                logger.debug("health summary not sent", metadata: ["error": "\(error)"])
            }
        }
    }

    public func connected(_ link: AgentLink) async throws {
        self.link = link
        inFlight = nil
        try await send(link)
    }

    /// The timer in `run()` paces the summaries, not the coordinator's messages.
    public func tick(_ link: AgentLink) async throws {}

    public func disconnected() async {
        link = nil
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
            if error.code != .unavailable && error.code != .internalError && error.code != .conflict {
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
        guard var summary = try await recorder.due() else { return }
        summary.requestID = link.nextRequestID()
        inFlight = summary.requestID
        try await link.send(.healthSummary(summary))
    }
}
