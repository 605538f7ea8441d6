import PostgresTestSupport

extension Fleet {
    /// Two scenarios (`NAME-a`, `NAME-b`) whose coordinators share a fresh database of the test PostgreSQL and a
    /// `--blob-dir` under the first's folder (README "Several coordinators"), with `arguments` added to both
    /// coordinators' command lines. Neither coordinator is started.
    static func sharingADatabase(_ name: String, arguments: [String] = []) async throws -> (Fleet, Fleet) {
        let (url, _) = try await PostgresTestCluster.shared.freshDatabase()
        let first = try Fleet(name + "-a")
        let second = try Fleet(name + "-b")
        let shared = ["--database", url.description, "--blob-dir", first.root + "/shared-blobs"] + arguments
        first.extraCoordinatorArguments = shared
        second.extraCoordinatorArguments = shared
        return (first, second)
    }
}
