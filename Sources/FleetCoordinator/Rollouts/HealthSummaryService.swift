import FleetStore
import FleetWire
import Foundation
import Logging
import Synchronization

/// Stores devices' health summaries (SPEC 5.41) for the rollouts' health gates: counts per model version, never
/// rows. At most one summary a second is stored per device (the agent sends one every few seconds); a summary
/// naming an invalid model, version 0 or one version twice is refused (300).
struct HealthSummaryService: DeviceMessageHandler {
    let store: CoordinatorStore
    let logger: Logger
    var now: @Sendable () -> Date = { Date() }
    /// The shortest spacing between two stored summaries of one device.
    var minimumSpacing: TimeInterval = 1
    private let lastStored = LastStored()

    init(store: CoordinatorStore, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    func handle(_ message: Message, from deviceID: String) async -> Message? {
        guard case .healthSummary(let summary) = message else { return nil }
        func refuse(_ code: ErrorCode, _ text: String) -> Message {
            .error(ErrorMessage(requestID: summary.requestID, code: code, message: text))
        }
        var seen = Set<String>()
        for entry in summary.entries {
            guard ModelNameRule.isValid(entry.model) else {
                return refuse(.badRequest, ModelNameRule.explain(entry.model))
            }
            guard entry.version >= 1 else { return refuse(.badRequest, "\(entry.model): version 0 does not exist") }
            guard seen.insert("\(entry.model) \(entry.version)").inserted else {
                return refuse(.badRequest, "\(entry.model) v\(entry.version) appears twice in one summary")
            }
        }
        let received = now()
        guard lastStored.claim(deviceID, at: received, spacing: minimumSpacing) else {
            return refuse(.conflict, "one health summary a second at most: not stored")
        }
        do {
            try await store.recordHealth(
                deviceID: deviceID,
                receivedAt: received,
                windowMilliseconds: summary.windowMilliseconds,
                starts: summary.starts,
                entries: summary.entries.map {
                    HealthCounts(
                        model: $0.model,
                        version: $0.version,
                        queries: $0.queries,
                        errors: $0.errors,
                        latency: $0.latency,
                        confidence: $0.confidence,
                        labelled: $0.labelled,
                        correct: $0.correct
                    )
                }
            )
            return .ack(Ack(requestID: summary.requestID))
        } catch {
            lastStored.release(deviceID)
            logger.error("health summary not stored", metadata: ["device": "\(deviceID)", "error": "\(error)"])
            return refuse(.unavailable, "not stored; retry")
        }
    }

    /// When each device's last summary was stored.
    final class LastStored: Sendable {
        private let times = Mutex<[String: Date]>([:])

        func claim(_ deviceID: String, at now: Date, spacing: TimeInterval) -> Bool {
            times.withLock { times in
                if let last = times[deviceID], now.timeIntervalSince(last) < spacing, now >= last { return false }
                times[deviceID] = now
                return true
            }
        }

        func release(_ deviceID: String) {
            times.withLock { _ = $0.removeValue(forKey: deviceID) }
        }
    }
}
