import FleetStore
import Foundation
import Logging
import Metrics
import ServiceLifecycle

/// Writes presence to the database in batches: one transaction for all `lastSeen` updates of an interval, plus one
/// status change (and event) per device that came online or went offline. A device goes offline in the database
/// only if no coordinator has heard from it since this one last did (``CoordinatorStore/markOfflineIfSilent``), and
/// every half offline timeout the flusher also sweeps the database for devices marked online that nobody has heard
/// from within the timeout: those of a coordinator that stopped or died.
struct PresenceFlusher: Service {
    let tracker: PresenceTracker
    let store: CoordinatorStore
    let interval: Duration
    let metrics: CoordinatorMetrics
    let logger: Logger
    /// Devices marked offline per database sweep, at most (the rest at the next).
    var sweepBatch = 1_000

    func run() async throws {
        var lastSweep = Date.distantPast
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await Task.sleep(for: interval)
            let now = Date()
            await flush(now: now)
            if now.timeIntervalSince(lastSweep) >= tracker.offlineTimeout / 2 {
                lastSweep = now
                await sweepDatabase(now: now)
            }
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
                guard try await apply(change) else { continue }
                logger.info(
                    "device \(change.online ? "online" : "offline")",
                    metadata: ["device": "\(change.deviceID)", "detail": "\(change.detail)"]
                )
            }
        } catch {
            logger.error("presence flush failed; will retry", metadata: ["error": "\(error)"])
        }
    }

    /// Writes one status change; whether the stored status changed.
    private func apply(_ change: PresenceTracker.StatusChange) async throws -> Bool {
        guard !change.online else {
            do {
                return try await store.setStatus(
                    deviceID: change.deviceID,
                    status: .online,
                    at: change.at,
                    detail: change.detail
                )
            } catch let error as StoreError where error == .notFound {
                return false  // removed by the administrator meanwhile: nothing to record
            }
        }
        return try await store.markOfflineIfSilent(
            deviceID: change.deviceID,
            seenNoLaterThan: change.heardUntil ?? change.at,
            at: change.at,
            detail: change.detail
        )
    }

    /// Marks offline the devices the database has online but nobody has heard from within the offline timeout,
    /// except those connected here (their newest sign of life may not be flushed yet).
    func sweepDatabase(now: Date) async {
        let deadline = now.addingTimeInterval(-tracker.offlineTimeout)
        do {
            for silent in try await store.silentOnlineDevices(seenNoLaterThan: deadline, limit: sweepBatch)
            where !tracker.isOnline(silent.deviceID) {
                let detail =
                    silent.lastSeen.map { "no heartbeat for \(Int(now.timeIntervalSince($0).rounded()))s" }
                    ?? "no heartbeat"
                guard
                    try await store.markOfflineIfSilent(
                        deviceID: silent.deviceID,
                        seenNoLaterThan: deadline,
                        at: now,
                        detail: detail
                    )
                else { continue }
                logger.info("device offline", metadata: ["device": "\(silent.deviceID)", "detail": "\(detail)"])
            }
        } catch {
            logger.error("presence sweep failed; will retry", metadata: ["error": "\(error)"])
        }
    }
}
