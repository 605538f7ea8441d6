/// Payload computations in progress, keyed by (base, target) digests: a publish makes every online device ask for
/// the same delta at once, and the first request computes it while the others wait for its result.
actor PayloadBuilds {
    private var running: [[UInt8]: Task<ModelRegistry.Payload, any Error>] = [:]
    /// How many payloads were computed (not found in the cache), for tests and logs.
    private(set) var computations = 0

    /// The result of `make` for `key`, sharing one run among concurrent callers.
    func run(
        key: [UInt8],
        _ make: @escaping @Sendable () async throws -> ModelRegistry.Payload
    ) async throws -> ModelRegistry.Payload {
        if let task = running[key] { return try await task.value }
        let task = Task { try await make() }
        running[key] = task
        defer { running[key] = nil }
        return try await task.value
    }

    func computed() { computations += 1 }
}
