extension Fleet {
    /// Runs `scenario`, then stops every process, also when it throws, and removes the fleet's files.
    func run(_ scenario: (Fleet) async throws -> Void) async throws {
        defer { cleanUp() }
        do {
            try await scenario(self)
        } catch {
            await stopAll()
            throw error
        }
        await stopAll()
    }
}
