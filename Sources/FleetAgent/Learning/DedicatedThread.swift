import Foundation
import Synchronization

/// Blocking work (CPU-bound training, waiting on a child process) run on a thread of its own, so that it never
/// holds one of the few threads of Swift's cooperative pool, which the session's reads and heartbeats need.
enum DedicatedThread {
    /// Runs `work` on a new thread and returns its result. When the awaiting task is cancelled, this returns at
    /// once with `CancellationError`; the thread finishes its work and its result is dropped.
    static func run<Result: Sendable>(
        _ name: String,
        _ work: @escaping @Sendable () throws -> Result
    ) async throws -> Result {
        let waiter = Waiter<Result>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                guard waiter.install(continuation) else { return }
                let thread = Thread {
                    waiter.resume(with: Swift.Result { try work() })
                }
                thread.name = name
                thread.start()
            }
        } onCancel: {
            waiter.resume(with: .failure(CancellationError()))
        }
    }

    /// Resumes the continuation once: with the work's result, or with the cancellation, whichever comes first.
    private final class Waiter<Value: Sendable>: Sendable {
        private enum State {
            case waiting
            case installed(CheckedContinuation<Value, any Error>)
            case done
        }
        private let state = Mutex(State.waiting)

        /// False when cancellation came first (the continuation was resumed here).
        func install(_ continuation: CheckedContinuation<Value, any Error>) -> Bool {
            let installed = state.withLock { state -> Bool in
                guard case .waiting = state else { return false }
                state = .installed(continuation)
                return true
            }
            if !installed { continuation.resume(throwing: CancellationError()) }
            return installed
        }

        func resume(with result: Result<Value, any Error>) {
            let continuation = state.withLock { state -> CheckedContinuation<Value, any Error>? in
                switch state {
                case .waiting:
                    state = .done
                    return nil
                case .installed(let continuation):
                    state = .done
                    return continuation
                case .done:
                    return nil
                }
            }
            continuation?.resume(with: result)
        }
    }
}
