import FleetStore
import Foundation
import Logging

/// A lease on work that one coordinator of a fleet at a time must do (README "Several coordinators"), in the
/// database's `lease` table: round jobs (`rounds`, held while a job runs) and stepping rollouts (`rollouts`, held
/// while the coordinator runs). The holder renews it every third of its duration; once it has expired (its
/// coordinator stopped or died), another coordinator may take it.
struct WorkLease: Sendable {
    let name: String
    let store: CoordinatorStore
    /// This coordinator process (a random id per start).
    let owner: String
    let duration: Duration

    init(_ name: String, store: CoordinatorStore, owner: String = UUID().uuidString, duration: Duration = .seconds(15))
    {
        self.name = name
        self.store = store
        self.owner = owner
        self.duration = duration
    }

    /// Takes or renews the lease; whether this coordinator holds it.
    func acquire(now: Date = Date()) async throws -> Bool {
        try await store.acquireLease(
            name,
            owner: owner,
            until: now.addingTimeInterval(Double(duration.milliseconds) / 1000),
            now: now
        )
    }

    func release() async {
        try? await store.releaseLease(name, owner: owner)
    }

    /// Renews the lease every third of its duration until cancelled.
    func keepRenewed(logger: Logger) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: duration / 3)
            guard !Task.isCancelled else { return }
            do {
                if try await !acquire() {
                    logger.error(
                        "another coordinator took the lease while this one held it",
                        metadata: ["lease": "\(name)"]
                    )
                }
            } catch {
                logger.warning(
                    "cannot renew the lease; will retry",
                    metadata: ["lease": "\(name)", "error": "\(error)"]
                )
            }
        }
    }
}
