import FleetStore
import Foundation
import Logging
import Metrics
import ServiceLifecycle

/// Writes presence to SQLite in batches: one transaction for all `lastSeen` updates of an interval,
/// plus one status change (and event) per device that came online or went offline.
struct PresenceFlusher: Service {
    let tracker: PresenceTracker
    let store: CoordinatorStore
    let interval: Duration
    let metrics: CoordinatorMetrics
    let logger: Logger

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await Task.sleep(for: interval)
            await flush(now: Date())
        }
        // Last flush so a graceful stop loses no lastSeen.
        await flush(now: Date())
    }

    func flush(now: Date) async {
        tracker.sweep(now: now)
        let drain = tracker.drain()
        guard !drain.lastSeen.isEmpty || !drain.statusChanges.isEmpty else { return }
        let began = ContinuousClock.now
        defer { metrics.heartbeatFlush.record(duration: ContinuousClock.now - began) }
        do {
            if !drain.lastSeen.isEmpty {
                try await store.recordHeartbeats(
                    drain.lastSeen.map { HeartbeatUpdate(deviceID: $0.key, lastSeen: $0.value, reported: nil) }
                )
            }
            for change in drain.statusChanges {
                do {
                    try await store.setStatus(
                        deviceID: change.deviceID,
                        status: change.online ? .online : .offline,
                        at: change.at,
                        detail: change.detail
                    )
                } catch let error as StoreError where error == .notFound {
                    continue  // removed by the administrator meanwhile: nothing to record
                }
                logger.info(
                    "device \(change.online ? "online" : "offline")",
                    metadata: ["device": "\(change.deviceID)", "detail": "\(change.detail)"]
                )
            }
        } catch {
            logger.error("presence flush failed; will retry", metadata: ["error": "\(error)"])
        }
    }
}
