import Testing

extension Fleet {
    /// Runs `scenario`, then stops every process, also when it throws, and removes the fleet's files (kept when
    /// the test failed).
    func run(_ scenario: (Fleet) async throws -> Void) async throws {
        defer { cleanUp() }
        do {
            try await scenario(self)
        } catch {
            return try await stopAll(after: error)
        }
        await stopAll()
    }

    /// Stops every process once a scenario threw `error`, and fails the test with it. A failed `#require` was
    /// recorded when it failed and is rethrown. Any other error is recorded here, while the processes still run,
    /// so that the tails of their logs are attached to it and the fleet's folder is kept; Swift Testing would
    /// record a thrown error only once the test returned, after the processes stopped and the folder was removed.
    func stopAll(after error: any Error, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        guard error is ExpectationFailedError else {
            Issue.record(error, sourceLocation: sourceLocation)
            return await stopAll()
        }
        await stopAll()
        throw error
    }
}
