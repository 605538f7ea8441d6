/// Payload computations in progress, keyed by (base, target) digests: a publish makes every online device ask for
/// the same delta at once, and the first request computes it while the others wait for its result. At most
/// ``concurrentLimit`` different payloads are computed at a time (a delta holds both model files in memory); the
/// others wait their turn.
actor PayloadBuilds {
    private var running: [[UInt8]: Task<ModelRegistry.Payload, any Error>] = [:]
    /// How many payloads were computed (not found in the cache), for tests and logs.
    private(set) var computations = 0
    let concurrentLimit: Int
    private var active = 0
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(concurrentLimit: Int = 2) {
        self.concurrentLimit = max(1, concurrentLimit)
    }

    /// The result of `make` for `key`, sharing one run among concurrent callers.
    func run(
        key: [UInt8],
        _ make: @escaping @Sendable () async throws -> ModelRegistry.Payload
    ) async throws -> ModelRegistry.Payload {
        if let task = running[key] { return try await task.value }
        let task = Task {
            await self.acquire()
            defer { self.release() }
            return try await make()
        }
        running[key] = task
        defer { running[key] = nil }
        return try await task.value
    }

    func computed() { computations += 1 }

    private func acquire() async {
        guard active >= concurrentLimit else {
            active += 1
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    /// Hands the slot to the next waiter, if any (the slot stays taken), else frees it.
    private func release() {
        if waiting.isEmpty {
            active -= 1
        } else {
            waiting.removeFirst().resume()
        }
    }
}
