import Foundation
import Testing

@testable import FleetStore

@Suite("Pruning model versions")
struct PruningTests {
    @Test(arguments: CoordinatorBackend.allCases)
    func keepsTheNewestAndEveryVersionInUse(backend: CoordinatorBackend) async throws {
        try await withCoordinator(backend) { store in
            // Given kws v1...v5 (v2 with two variants), a vad model, and two devices:
            // dev-0 assigned kws v2 int8, dev-1 reporting kws v1 installed
            try await ModelFixtures.push(
                [
                    ModelFixtures.variant("kws", 1, "int8"), ModelFixtures.variant("kws", 2, "int8"),
                    ModelFixtures.variant("kws", 2, "fp32"), ModelFixtures.variant("kws", 3, "int8"),
                    ModelFixtures.variant("kws", 4, "int8"), ModelFixtures.variant("kws", 5, "int8"),
                    ModelFixtures.variant("vad", 1, "f32"),
                ],
                to: store
            )
            try await Fixtures.enrolDevices(2, in: store)
            try await store.setAssignment(ModelFixtures.assignment("dev-0", "kws", 2, "int8"))
            let installed = InstalledModelRecord(
                name: "kws",
                version: 1,
                variant: "int8",
                sha256: ModelFixtures.digest("kws/1/int8")
            )
            try await store.recordHeartbeats([
                HeartbeatUpdate(
                    deviceID: "dev-1",
                    lastSeen: Dates.at(30),
                    reported: ReportedState(agentVersion: "1.0.0", capabilities: [:], installedModels: [installed])
                )
            ])

            // When pruning to the newest two
            let removed = try await store.pruneModelVersions(model: "kws", keep: 2, at: Dates.at(40))

            // Then only v3 goes: v5 and v4 are newest, v2 is assigned, v1 is installed
            #expect(removed.map { "v\($0.version) \($0.variant)" } == ["v3 int8"])
            #expect(try await store.modelVariants(model: "kws").map(\.version) == [5, 4, 2, 2, 1])
            let pruned = try await store.events(deviceID: nil, limit: 100, afterSequence: nil)
                .filter { $0.kind == "model_pruned" }
            #expect(pruned.map(\.detail) == ["kws v3 (1 variant(s))"])
            #expect(pruned.first?.at == Dates.at(40))

            // When nothing more can go, Then nothing is removed and no event is added
            #expect(try await store.pruneModelVersions(model: "kws", keep: 2).isEmpty)
            #expect(try await store.pruneModelVersions(model: "unknown", keep: 1).isEmpty)

            // When the devices move to v5 and pruning keeps one
            try await store.setAssignment(ModelFixtures.assignment("dev-0", "kws", 5, "int8"))
            try await store.recordHeartbeats([
                HeartbeatUpdate(
                    deviceID: "dev-1",
                    lastSeen: Dates.at(50),
                    reported: ReportedState(agentVersion: "1.0.0", capabilities: [:], installedModels: [])
                )
            ])
            let rest = try await store.pruneModelVersions(model: "kws", keep: 1)

            // Then everything but v5 goes, newest first, and versions still only go up
            #expect(rest.map { "v\($0.version) \($0.variant)" } == ["v4 int8", "v2 fp32", "v2 int8", "v1 int8"])
            #expect(try await store.latestVersion(model: "kws") == 5)
            await #expect(throws: StoreError.versionNotIncreasing) {
                try await store.addModelVariant(ModelFixtures.variant("kws", 4, "int8"))
            }
            #expect(try await store.modelVariants(model: "vad").count == 1)
            #expect(try await store.modelVariant(sha256: ModelFixtures.digest("kws/1/int8")) == nil)
        }
    }

    @Test
    func keepMustBeAtLeastOne() async throws {
        let store = try CoordinatorStore.inMemory()
        try await store.addModelVariant(ModelFixtures.variant("kws", 1, "int8"))

        await #expect(throws: StoreError.invalidArgument) { try await store.pruneModelVersions(model: "kws", keep: 0) }
        #expect(try await store.latestVersion(model: "kws") == 1)
        await #expect(throws: StoreError.invalidArgument) {
            try await store.pruneModelVersions(model: "kws", keep: 1, at: Dates.at(1), devicePageSize: 0)
        }
    }

    /// Seven devices report installs, read in pages of 1, 2 (the last page short), 7 (one full page, then an empty
    /// one) and the default: kws v2 is reported on the second page of two, v1 only by the last device.
    @Test(arguments: CoordinatorBackend.allCases, [1, 2, 7, CoordinatorStore.pruningDevicePageSize])
    func versionsReportedOnEveryPageOfDevicesAreKept(backend: CoordinatorBackend, pageSize: Int) async throws {
        try await withCoordinator(backend) { store in
            try await ModelFixtures.push(
                (1...4).map { ModelFixtures.variant("kws", $0, "int8") } + [ModelFixtures.variant("vad", 1, "f32")],
                to: store
            )
            let devices = try await Fixtures.enrolDevices(8, in: store).map(\.id).sorted()
            let reports = devices.enumerated().map { index, deviceID in
                let (model, version) =
                    switch index {
                    case 3: ("kws", 2)
                    case 6: ("kws", 1)
                    case 7: ("none", 0)
                    default: ("vad", 1)
                    }
                let installed =
                    model == "none"
                    ? []
                    : [
                        InstalledModelRecord(
                            name: model,
                            version: version,
                            variant: "int8",
                            sha256: ModelFixtures.digest("\(model)/\(version)/int8")
                        )
                    ]
                return HeartbeatUpdate(
                    deviceID: deviceID,
                    lastSeen: Dates.at(30),
                    reported: ReportedState(agentVersion: "1.0.0", capabilities: [:], installedModels: installed)
                )
            }
            try await store.recordHeartbeats(reports)

            let removed = try await store.pruneModelVersions(
                model: "kws",
                keep: 1,
                at: Dates.at(40),
                devicePageSize: pageSize
            )
            #expect(removed.map(\.version) == [3])
            #expect(Set(try await store.modelVariants(model: "kws").map(\.version)) == [1, 2, 4])
        }
    }
}
