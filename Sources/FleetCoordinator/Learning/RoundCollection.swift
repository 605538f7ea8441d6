import FleetLearning
import FleetModelIO
import FleetStore
import FleetWire

/// One open round's updates: who was asked, what each device trains from, and the updates accepted so far.
/// Each update is decoded and screened (`UpdateScreen`: length, NaN/±infinity, absurd norm) as it arrives,
/// so a bad one is refused alone with its reason and the round goes on with the others. Accepted updates are
/// held until the round closes, when each device's sample-count weight is capped against the round's median
/// and the strategy aggregates them (per region first when hierarchical). Memory: the accepted updates
/// (at most `--clients` × the model's size).
struct RoundCollection {
    struct Verdict: Equatable {
        var status: RoundParticipantRecord.Status
        var reason: String = ""
    }

    struct Accepted {
        var deviceID: String
        var region: String
        var update: ClientUpdate
    }

    /// The round's outcome from the strategy.
    struct Aggregated {
        var global: AggregationResult?
        var regional: [String: AggregationResult]
        /// Devices whose accepted update the strategy still refused (e.g. past its memory bound), with why.
        var refused: [String: String]
        /// The sample-weight cap applied, if any.
        var weightLimit: Int?
        /// Devices whose reported sample count was above the cap: what they reported.
        var capped: [String: Int] = [:]
        var updates: Int
    }

    let id: Int
    let base: TensorSet
    let baseFile: [UInt8]
    /// By region label: the regions that have their own variant of the base version.
    let regionBases: [String: TrainingBase]
    /// Devices that train from their region's variant instead of the base.
    let deviceBases: [String: TrainingBase]
    let selected: Set<String>
    /// Device → the region it is aggregated in (`all` unless hierarchical).
    let regions: [String: String]
    let screen: UpdateScreen
    private(set) var responded: Set<String> = []
    private(set) var accepted: [Accepted] = []
    private(set) var bytesUp = 0
    /// Updates refused as they arrived.
    private(set) var refusedCount = 0

    init(
        id: Int,
        bases: RoundBases,
        chosen: [DeviceRecord],
        hierarchical: Bool,
        screen: UpdateScreen? = nil
    ) {
        self.id = id
        base = bases.loaded.tensors
        baseFile = bases.file
        regionBases = bases.regions
        selected = Set(chosen.map(\.id))
        regions = Dictionary(
            uniqueKeysWithValues: chosen.map { ($0.id, hierarchical ? ($0.labels["region"] ?? "none") : "all") }
        )
        var deviceBases: [String: TrainingBase] = [:]
        for device in chosen {
            let running = device.installedModels.first { $0.name == bases.record.model }?.sha256
            deviceBases[device.id] = bases.regions.values.first { $0.record.sha256 == running }
        }
        self.deviceBases = deviceBases
        self.screen = screen ?? UpdateScreen(base: bases.loaded.tensors)
    }

    /// Whether `deviceID`'s update for `round` is expected (selected, round open, not answered yet).
    func expects(_ deviceID: String, round: Int) -> Bool {
        round == id && selected.contains(deviceID) && !responded.contains(deviceID)
    }

    var allResponded: Bool { responded.count >= selected.count }

    /// Takes one expected update: declined (no samples or payload), refused (with the reason) or accepted.
    mutating func take(_ update: TrainUpdate, from deviceID: String) -> Verdict {
        responded.insert(deviceID)
        guard update.sampleCount > 0, !update.payload.isEmpty else {
            return Verdict(status: .declined, reason: update.metrics["reason"] ?? "")
        }
        let regional = deviceBases[deviceID]
        let (baseFile, base) = (regional?.file ?? self.baseFile, regional?.tensors ?? self.base)
        let delta: [Float]
        do {
            delta =
                update.encoding == .quantized
                ? try UpdateCodec.decodeQuantized(update.payload, base: base)
                : try UpdateCodec.decodeLossless(patch: update.payload, baseFile: baseFile, base: base)
        } catch {
            refusedCount += 1
            return Verdict(status: .refused, reason: "update does not decode against the round's base: \(error)")
        }
        let clientUpdate = ClientUpdate(delta: delta, sampleCount: update.sampleCount)
        do {
            try screen.check(clientUpdate)
        } catch {
            refusedCount += 1
            return Verdict(status: .refused, reason: "\(error)")
        }
        accepted.append(Accepted(deviceID: deviceID, region: regions[deviceID] ?? "all", update: clientUpdate))
        bytesUp += update.payload.count
        return Verdict(status: .updated)
    }

    /// Aggregates the accepted updates with each sample count capped by `weightCap` against the round's
    /// median; with several regions (hierarchical), each region's aggregate first, then across regions
    /// weighted by their (capped) samples. Releases the held updates.
    mutating func aggregate(strategy: any AggregationStrategy, weightCap: SampleWeightCap) throws -> Aggregated {
        let held = accepted
        accepted = []
        let weightLimit = weightCap.limit(for: held.map(\.update.sampleCount))
        var aggregators: [String: any UpdateAggregator] = [:]
        for region in Set(held.map(\.region)) {
            aggregators[region] = try strategy.makeAggregator(
                base: base,
                expectedClients: held.count { $0.region == region }
            )
        }
        var refused: [String: String] = [:]
        var capped: [String: Int] = [:]
        for entry in held {
            guard var aggregator = aggregators[entry.region] else { continue }
            var update = entry.update
            if let weightLimit, update.sampleCount > weightLimit {
                capped[entry.deviceID] = update.sampleCount
                update.sampleCount = weightLimit
            }
            do {
                try aggregator.add(update: update)
            } catch {
                refused[entry.deviceID] = "\(error)"
            }
            aggregators[entry.region] = aggregator
        }
        var results: [String: AggregationResult] = [:]
        for (region, var aggregator) in aggregators {
            if let result = try aggregator.finish() { results[region] = result }
        }
        var aggregated = Aggregated(
            global: results.values.first,
            regional: results,
            refused: refused,
            weightLimit: weightLimit,
            capped: capped.filter { refused[$0.key] == nil },
            updates: held.count - refused.count
        )
        guard results.count > 1 else { return aggregated }
        // The global model moves to the sample-weighted mean of the regions' new models: a region that trains
        // from its own variant contributes (its model − the base) + its update.
        var across = try FedAvg().makeAggregator(base: base, expectedClients: results.count)
        for region in results.keys.sorted() {
            guard let result = results[region] else { continue }
            var delta = result.delta
            if let own = regionBases[region] {
                let offset = try own.tensors.delta(from: base)
                for index in delta.indices { delta[index] += offset[index] }
            }
            try across.add(update: ClientUpdate(delta: delta, sampleCount: result.totalSamples))
        }
        aggregated.global = try across.finish()
        return aggregated
    }
}
