import ArgumentParser
import FleetAgent
import FleetStore
import FleetTrust
import FleetWire
import Foundation

/// What pay per query costs the agent (`Protocol/METERING.md`): the time to meter one query on an on-disk
/// `agent.sqlite`, for a metered model (decide, sign a receipt, append it to the hash chain, one transaction) and
/// for a model without grants (the same transaction, no receipt), interleaved; and the ledger's bytes per 1,000
/// queries: the receipts' encoding, the database file's growth, and the `usageReport` frames that carry them.
/// One query per request, the worst case (a request of N rows writes one receipt). Build with `-c release`.
struct MeteringBenchmarkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metering",
        abstract: "Metering cost per query with and without the usage ledger; ledger bytes per 1,000 queries."
    )

    @Option(help: "Queries metered per kind (metered and unmetered, interleaved).")
    var queries = 2_000

    @Flag(help: "Print JSON.")
    var json = false

    struct Report: Codable {
        var queries: Int
        var meteredMicrosecondsMedian: Double
        var unmeteredMicrosecondsMedian: Double
        var receiptBytesPer1000: Int
        var databaseBytesPer1000: Int
        var wireBytesPer1000: Int
        /// The same on a leaf: FleetTinyKit's meter, built for this host.
        var leaf: LeafMeteringFigures
    }

    func run() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "fleet-bench-metering-\(UUID().uuidString.prefix(8))"
        ).path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try AgentStore(path: directory + "/agent.sqlite")
        let release = ReleaseKey.generate()
        let identity = DeviceIdentity.generate()
        let deviceID = DeviceIdentity.deviceID(forPublicKey: identity.publicKey)
        let grant = QuotaGrant(
            deviceID: deviceID,
            model: "metered",
            sequence: 1,
            queries: UInt64(queries) * 2,
            issuedAt: Date(),
            priceMicros: 1500,
            currency: "USD"
        )
        try await store.storeQuotaGrants([(1, "metered", try SignedQuotaGrant.sign(grant, with: release).encoded())])
        let key = release.publicKey
        try await store.close()
        let before = fileBytes(directory)
        let reopened = try AgentStore(path: directory + "/agent.sqlite")
        let meter = Meter(
            store: reopened,
            identity: identity,
            deviceID: deviceID,
            releaseKey: { key },
            isConnected: { true }
        )
        var metered: [Double] = []
        var unmetered: [Double] = []
        for _ in 0..<queries {
            var start = DispatchTime.now().uptimeNanoseconds
            _ = try await meter.charge(model: "metered", version: 1, requested: 1)
            metered.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e3)
            start = DispatchTime.now().uptimeNanoseconds
            _ = try await meter.charge(model: "free", version: 1, requested: 1)
            unmetered.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e3)
        }
        let ledger = try await reopened.usageLedgerSize()
        let receipts = try await reopened.unsyncedUsageReceipts(limit: queries).map(\.record)
        var wire = 0
        for start in stride(from: 0, to: receipts.count, by: UsageReport.maximumReceipts) {
            let chunk = Array(receipts[start..<min(start + UsageReport.maximumReceipts, receipts.count)])
            wire += Message.usageReport(UsageReport(requestID: 1, receipts: chunk)).encodedFrame().readableBytes
        }
        try await reopened.close()
        let grown = fileBytes(directory) - before
        let report = Report(
            queries: queries,
            meteredMicrosecondsMedian: median(metered),
            unmeteredMicrosecondsMedian: median(unmetered),
            receiptBytesPer1000: ledger.bytes * 1000 / max(ledger.receipts, 1),
            databaseBytesPer1000: grown * 1000 / max(queries, 1),
            wireBytesPer1000: wire * 1000 / max(receipts.count, 1),
            leaf: try LeafMeteringFigures.measure(queries: queries)
        )
        if json {
            try printJSON(report)
        } else {
            print(
                renderTable(
                    ["", "per query µs (median)", "ledger bytes / 1,000 queries"],
                    [
                        ["metered (ledger)", String(format: "%.1f", report.meteredMicrosecondsMedian), ""],
                        ["not metered", String(format: "%.1f", report.unmeteredMicrosecondsMedian), ""],
                        ["receipts (encoded)", "", "\(report.receiptBytesPer1000)"],
                        ["agent.sqlite growth", "", "\(report.databaseBytesPer1000)"],
                        ["usageReport frames", "", "\(report.wireBytesPer1000)"],
                        [
                            "leaf: draw + store counters",
                            String(format: "%.1f", report.leaf.consumeMicrosecondsMedian), "",
                        ],
                        [
                            "leaf: seal + sign a receipt",
                            String(format: "%.1f", report.leaf.receiptMicrosecondsMedian), "",
                        ],
                    ]
                )
            )
            print("\(queries) queries of each kind, one query per request, interleaved, on an on-disk agent.sqlite")
            print(
                "leaf (FleetTinyKit on this host): \(queries) queries, one receipt per 10; counters (meter record 0, "
                    + "\(report.leaf.counterRecordBytes) bytes) stored to RAM, a leaf's flash write comes on top"
            )
        }
    }

    /// Bytes of the database file (measured after close, once the WAL is checkpointed into it).
    private func fileBytes(_ directory: String) -> Int {
        ["agent.sqlite"].reduce(0) { total, name in
            let attributes = try? FileManager.default.attributesOfItem(atPath: directory + "/" + name)
            return total + ((attributes?[.size] as? NSNumber)?.intValue ?? 0)
        }
    }
}
