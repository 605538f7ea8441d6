import GRDB

/// The coordinator's schema history. Append new migrations ("coordinator-v2", ...) at the end;
/// never edit or reorder a registered one.
enum CoordinatorMigrator {
    static func make() -> DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("coordinator-v1", migrate: CoordinatorV1.migrate)
        migrator.registerMigration("coordinator-v2", migrate: CoordinatorV2.migrate)
        migrator.registerMigration("coordinator-v3", migrate: CoordinatorV3.migrate)
        migrator.registerMigration("coordinator-v4", migrate: CoordinatorV4.migrate)
        migrator.registerMigration("coordinator-v5", migrate: CoordinatorV5.migrate)
        migrator.registerMigration("coordinator-round-refusals", migrate: CoordinatorRoundRefusals.migrate)
        migrator.registerMigration(
            "coordinator-model-report-receipts",
            migrate: CoordinatorModelReportReceipts.migrate
        )
        migrator.registerMigration("coordinator-v6-removed-devices", migrate: CoordinatorV6.migrate)
        migrator.registerMigration("coordinator-device-gateways", migrate: CoordinatorDeviceGateways.migrate)
        migrator.registerMigration("coordinator-quotas", migrate: CoordinatorQuotas.migrate)
        migrator.registerMigration("coordinator-api-tokens", migrate: CoordinatorAPITokens.migrate)
        migrator.registerMigration("coordinator-rollouts", migrate: CoordinatorRollouts.migrate)
        migrator.registerMigration("coordinator-rollout-health", migrate: CoordinatorRolloutHealth.migrate)
        migrator.registerMigration(
            "coordinator-rollout-device-timeout",
            migrate: CoordinatorRolloutDeviceTimeout.migrate
        )
        migrator.registerMigration("coordinator-fleet-secrets", migrate: CoordinatorFleetSecrets.migrate)
        migrator.registerMigration("coordinator-leases", migrate: CoordinatorLeases.migrate)
        migrator.registerMigration("coordinator-outbox", migrate: CoordinatorOutbox.migrate)
        migrator.registerMigration(
            "coordinator-forwarded-updates",
            migrate: CoordinatorForwardedUpdates.migrate
        )
        return migrator
    }
}
