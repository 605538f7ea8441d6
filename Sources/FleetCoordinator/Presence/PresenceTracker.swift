import Foundation
import Synchronization

/// Who is online, in memory. Heartbeats only touch this (no SQLite per heartbeat); the
/// ``PresenceFlusher`` writes the coalesced `lastSeen` values and status changes in batches.
final class PresenceTracker: Sendable {
    struct StatusChange: Equatable, Sendable {
        var deviceID: String
        var online: Bool
        var at: Date
        var detail: String
        /// For a device going offline: its last sign of life here. The database marks it offline only if no
        /// coordinator has written a later one (it may have moved to another coordinator).
        var heardUntil: Date? = nil
    }

    struct Drain: Sendable {
        var lastSeen: [String: Date]
        var statusChanges: [StatusChange]
    }

    private struct State {
        var lastSeen: [String: Date] = [:]
        var dirty: Set<String> = []
        var changes: [StatusChange] = []
        var connections: [String: Int] = [:]
    }

    private let state = Mutex(State())
    let offlineTimeout: TimeInterval

    init(offlineTimeout: TimeInterval) {
        self.offlineTimeout = offlineTimeout
    }

    /// A device authenticated on a new connection.
    func connected(_ deviceID: String, at now: Date) {
        state.withLock { state in
            state.connections[deviceID, default: 0] += 1
            if state.lastSeen.updateValue(now, forKey: deviceID) == nil {
                state.changes.append(StatusChange(deviceID: deviceID, online: true, at: now, detail: "connected"))
            }
            state.dirty.insert(deviceID)
        }
    }

    /// A heartbeat or any other sign of life.
    func touch(_ deviceID: String, at now: Date) {
        state.withLock { state in
            if state.lastSeen.updateValue(now, forKey: deviceID) == nil {
                state.changes.append(StatusChange(deviceID: deviceID, online: true, at: now, detail: "heartbeat"))
            }
            state.dirty.insert(deviceID)
        }
    }

    /// A device's connection closed. It stays online until its heartbeat timeout passes,
    /// so a quick reconnect does not flap.
    func disconnected(_ deviceID: String) {
        state.withLock { state in
            let remaining = (state.connections[deviceID] ?? 1) - 1
            state.connections[deviceID] = remaining > 0 ? remaining : nil
        }
    }

    /// The device said `goodbye` on one of its connections: it is offline at once, unless another connection of
    /// it is still open (a reconnect that overtook the old connection's goodbye).
    func leftGracefully(_ deviceID: String, at now: Date) {
        state.withLock { state in
            guard (state.connections[deviceID] ?? 0) <= 1, state.lastSeen.removeValue(forKey: deviceID) != nil else {
                return
            }
            state.dirty.remove(deviceID)
            state.changes.append(
                StatusChange(
                    deviceID: deviceID,
                    online: false,
                    at: now,
                    detail: "goodbye: the agent stopped",
                    heardUntil: now
                )
            )
        }
    }

    /// Marks offline every device silent for longer than the timeout.
    func sweep(now: Date) {
        state.withLock { state in
            let deadline = now.addingTimeInterval(-offlineTimeout)
            for (deviceID, seen) in state.lastSeen where seen < deadline {
                state.lastSeen[deviceID] = nil
                state.dirty.remove(deviceID)
                let detail = "no heartbeat for \(Int((now.timeIntervalSince(seen)).rounded()))s"
                state.changes.append(
                    StatusChange(deviceID: deviceID, online: false, at: now, detail: detail, heardUntil: seen)
                )
            }
        }
    }

    /// Takes what must be written since the last drain.
    func drain() -> Drain {
        state.withLock { state in
            var lastSeen: [String: Date] = [:]
            lastSeen.reserveCapacity(state.dirty.count)
            for deviceID in state.dirty { lastSeen[deviceID] = state.lastSeen[deviceID] }
            state.dirty.removeAll(keepingCapacity: true)
            let changes = state.changes
            state.changes.removeAll()
            return Drain(lastSeen: lastSeen, statusChanges: changes)
        }
    }

    var onlineCount: Int { state.withLock { $0.lastSeen.count } }
    var connectionCount: Int { state.withLock { $0.connections.values.reduce(0, +) } }
    func isOnline(_ deviceID: String) -> Bool { state.withLock { $0.lastSeen[deviceID] != nil } }
}
