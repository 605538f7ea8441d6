import FleetStore
import Foundation
import Logging

/// The lease on the fleet's round jobs (README "Several coordinators"): one coordinator of a fleet at a time runs
/// rounds. It takes the lease when a job starts, renews it every third of its duration while the job runs, and
/// gives it up when the job ends. A coordinator that finds rounds `running` records them as failed only when it can
/// take the lease: their coordinator stopped or died (its claim expired), so a coordinator that starts beside a
/// running job leaves it alone, and one whose peer died mid-round ends that round within a lease's duration and a
/// check's interval.
struct RoundJobLease: Sendable {
    static let name = "rounds"
    let store: CoordinatorStore
    /// This coordinator process (a random id per start).
    let owner: String
    let duration: Duration

    init(store: CoordinatorStore, owner: String = UUID().uuidString, duration: Duration = .seconds(15)) {
        self.store = store
        self.owner = owner
        self.duration = duration
    }

    /// Takes or renews the lease; whether this coordinator holds it.
    func acquire(now: Date = Date()) async throws -> Bool {
        try await store.acquireLease(
            Self.name,
            owner: owner,
            until: now.addingTimeInterval(Double(duration.milliseconds) / 1000),
            now: now
        )
    }

    func release() async {
        try? await store.releaseLease(Self.name, owner: owner)
    }

    /// Renews the lease every third of its duration until cancelled.
    func keepRenewed(logger: Logger) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: duration / 3)
            guard !Task.isCancelled else { return }
            do {
                if try await !acquire() {
                    logger.error("another coordinator took the rounds lease while this one ran a job")
                }
            } catch {
                logger.warning("cannot renew the rounds lease; will retry", metadata: ["error": "\(error)"])
            }
        }
    }
}
