import Synchronization

/// Runs each device's requests one after another, in the order they were handed over, whatever connection
/// carried them; different devices run concurrently. A consent change and the sample batches around it are thus
/// handled in the order the device sent them (``enqueue(_:_:)`` is called on the event loop as frames arrive).
final class DeviceRequestQueues: Sendable {
    private struct Tail {
        var ticket: UInt64
        var wait: @Sendable () async -> Void
    }

    private struct State {
        var tails: [String: Tail] = [:]
        var nextTicket: UInt64 = 0
    }

    private let state = Mutex(State())

    /// Starts `work` once every request enqueued before it for `deviceID` has finished.
    func enqueue<T: Sendable>(_ deviceID: String, _ work: @escaping @Sendable () async -> T) -> Task<T, Never> {
        state.withLock { state in
            let previous = state.tails[deviceID]
            let ticket = state.nextTicket
            state.nextTicket += 1
            let task = Task {
                await previous?.wait()
                let result = await work()
                self.finished(deviceID, ticket: ticket)
                return result
            }
            state.tails[deviceID] = Tail(ticket: ticket, wait: { _ = await task.value })
            return task
        }
    }

    /// How many devices have requests queued or running.
    var busyDevices: Int { state.withLock { $0.tails.count } }

    private func finished(_ deviceID: String, ticket: UInt64) {
        state.withLock { state in
            if state.tails[deviceID]?.ticket == ticket { state.tails[deviceID] = nil }
        }
    }
}
