import Synchronization

/// The local inferences in flight on this agent's socket, for `--offload-busy N` (SPEC 15a.6, `Protocol/LOCAL.md`):
/// with `offload: auto`, a request that finds N in flight is offloaded to the coordinator instead of waiting for the
/// device. An inference is in flight from when its request is read until its answer has been handed to the socket.
/// One per socket service, shared by its connections; per process.
public final class InferenceLoad: Sendable {
    private let running = Mutex(0)

    public init() {}

    /// Local inferences in flight now.
    public var inFlight: Int { running.withLock { $0 } }

    /// Counts one more local inference, unless `limit` (when above 0) are already in flight: then nothing is
    /// counted and the answer is false (the device is busy).
    func enter(limit: Int) -> Bool {
        running.withLock { count in
            guard limit <= 0 || count < limit else { return false }
            count += 1
            return true
        }
    }

    /// Ends an inference ``enter(limit:)`` counted.
    func leave() {
        running.withLock { $0 -= 1 }
    }
}
