import GRDB

/// "coordinator-v4": observability with privacy (consent history, consented samples, drift reports).
/// Frozen once shipped: never edit it, add a later migration instead. Plain SQL, no application types.
enum CoordinatorV4 {
    static func migrate(_ db: Database) throws {
        // Filled by the observability work.
    }
}
