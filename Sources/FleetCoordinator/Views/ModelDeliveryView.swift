import FleetStore

/// How far each version of a model has reached the fleet (the console's model page): per version and variant,
/// its size, the devices assigned it, running it and whose last report of it was a failure or refusal, and the
/// bytes its transfers sent against what full transfers would have cost.
package struct ModelDeliveryView: Sendable, Equatable {
    package struct Variant: Sendable, Equatable {
        package var version: Int
        package var variant: String
        package var size: Int
        package var accuracy: Double?
        package var pushedAt: String
        /// Devices whose assignment names this version and variant.
        package var assigned = 0
        /// Devices that report running it.
        package var installed = 0
        /// Devices that failed or refused it and do not run it.
        package var failed = 0
        package var transfers = 0
        package var deltaTransfers = 0
        /// Bytes sent on the wire for it, and what full transfers of the same installs would have cost.
        package var bytesSent = 0
        package var fullBytes = 0
        /// `fullBytes - bytesSent` (never below 0): what deltas and resumed transfers saved.
        package var bytesSaved: Int { max(0, fullBytes - bytesSent) }
    }

    package var model: String
    /// Newest version first, then variant by name.
    package var variants: [Variant]
    /// Devices that fit no variant of the model.
    package var unfit: Int

    /// The delivery of `model`, nil when the registry has no variant of it. Devices are counted in the store, and
    /// only those with a failure of the model are read.
    package static func load(_ model: String, in store: CoordinatorStore) async throws -> ModelDeliveryView? {
        let records = try await store.modelVariants(model: model)
        guard !records.isEmpty else { return nil }
        var variants = records.map {
            Variant(
                version: $0.version,
                variant: $0.variant,
                size: $0.size,
                accuracy: $0.accuracy,
                pushedAt: ISO8601.string($0.createdAt)
            )
        }
        func index(_ version: Int?, _ variant: String?) -> Int? {
            variants.firstIndex { $0.version == version && $0.variant == variant }
        }
        var unfit = 0
        for count in try await store.assignmentCounts(model: model) {
            if count.version == nil { unfit += count.devices }
            if let at = index(count.version, count.variant) { variants[at].assigned += count.devices }
        }
        for (installed, devices) in try await store.installedModelCounts() where installed.name == model {
            if let at = index(installed.version, installed.variant) { variants[at].installed += devices }
        }
        let failures = try await store.installFailures(model: model)
        var running = Set<String>()
        for device in try await store.devices(ids: failures.map(\.deviceID)) {
            for installed in device.installedModels where installed.name == model {
                running.insert("\(device.id) \(installed.version) \(installed.variant)")
            }
        }
        var failed = Set<String>()
        for failure in failures {
            let key = "\(failure.deviceID) \(failure.version) \(failure.variant)"
            guard !running.contains(key), failed.insert(key).inserted,
                let at = index(failure.version, failure.variant)
            else { continue }
            variants[at].failed += 1
        }
        for totals in try await store.transferTotals(model: model) {
            guard let at = index(totals.version, totals.variant) else { continue }
            variants[at].transfers += totals.transfers
            variants[at].deltaTransfers += totals.deltaTransfers
            variants[at].bytesSent += totals.wireBytes
            variants[at].fullBytes += totals.fullBytes
        }
        return ModelDeliveryView(
            model: model,
            variants: variants,
            unfit: unfit
        )
    }
}
