import GRDB

/// "coordinator-v5": federated rounds (rounds, participants, evaluation sets).
/// Frozen once shipped: never edit it, add a later migration instead. Plain SQL, no application types.
enum CoordinatorV5 {
    static func migrate(_ db: Database) throws {
        // Filled by the federated learning work.
    }
}
