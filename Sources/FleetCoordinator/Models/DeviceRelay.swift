import FleetStore
import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// Messages for devices connected to another coordinator of the fleet (README "Several coordinators"): what
/// ``ConnectionRegistry/send(_:to:)`` cannot deliver here is kept in memory, queued in the database's outbox in
/// batches, and sent by the coordinator holding the device's connection, which polls the outbox
/// (``RelayService``). Only with `--database`: on SQLite there is one coordinator.
final class DeviceRelay: Sendable {
    /// Messages kept between two batches, at most; more are dropped (and logged), as a send to an unreachable
    /// device would be.
    static let pendingLimit = 10_000

    private let pending = Mutex<(messages: [(deviceID: String, frame: [UInt8])], dropped: Int)>(([], 0))

    func enqueue(_ frame: ByteBuffer, for deviceID: String) {
        pending.withLock { pending in
            guard pending.messages.count < Self.pendingLimit else {
                pending.dropped += 1
                return
            }
            pending.messages.append((deviceID, Array(buffer: frame)))
        }
    }

    /// The messages kept since the last drain, and how many were dropped.
    func drain() -> (messages: [(deviceID: String, frame: [UInt8])], dropped: Int) {
        pending.withLock { pending in
            defer { pending = ([], 0) }
            return pending
        }
    }
}

/// Exchanges messages with the other coordinators through the outbox every `interval`: queues this coordinator's
/// pending messages, sends the queued ones whose device is connected here and deletes them, and deletes those no
/// coordinator delivered within `expiry` (their device left; it gets its state when it connects again).
struct RelayService: Sendable {
    let relay: DeviceRelay
    let connections: ConnectionRegistry
    let store: CoordinatorStore
    let logger: Logger
    var interval: Duration = .milliseconds(250)
    var expiry: TimeInterval = 60
    /// Queued messages looked at per exchange, at most.
    var batch = 1_000

    func run() async {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await Task.sleep(for: interval)
            await exchange(now: Date())
        }
        await exchange(now: Date())  // queue what is pending before the coordinator stops
    }

    func exchange(now: Date) async {
        let (outgoing, dropped) = relay.drain()
        if dropped > 0 {
            logger.warning(
                "relay buffer full: messages for other coordinators dropped",
                metadata: ["count": "\(dropped)"]
            )
        }
        do {
            try await store.queueRelayed(outgoing, at: now)
            let queued = try await store.relayedMessages(limit: batch)
            let delivered = queued.filter { connections.deliver($0.frame, to: $0.deviceID) }.map(\.id)
            let expiredBefore = now.addingTimeInterval(-expiry)
            if !delivered.isEmpty || queued.contains(where: { $0.queuedAt < expiredBefore }) {
                try await store.removeRelayed(ids: delivered, expiredBefore: expiredBefore)
            }
        } catch {
            logger.error("relay exchange failed; will retry", metadata: ["error": "\(error)"])
        }
    }
}
