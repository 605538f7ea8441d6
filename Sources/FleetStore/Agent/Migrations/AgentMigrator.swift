import GRDB

/// The agent's schema history. Append new migrations ("agent-v2", ...) at the end; never edit or
/// reorder a registered one.
enum AgentMigrator {
    static func make() -> DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("agent-v1", migrate: AgentV1.migrate)
        migrator.registerMigration("agent-v2", migrate: AgentV2.migrate)
        migrator.registerMigration("agent-quotas", migrate: AgentQuotas.migrate)
        return migrator
    }
}
