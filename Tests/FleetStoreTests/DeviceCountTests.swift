import Foundation
import Testing

@testable import FleetStore

@Suite("Devices counted and paged in the database")
struct DeviceCountTests {
    /// Six devices: regions eu, eu, us, none, us, eu (labels come from the enrolment token); three run models;
    /// two are online.
    private func fleet(_ store: CoordinatorStore) async throws {
        let tokens: [String?: UInt8] = ["eu": 11, "us": 12, nil: 13]
        for (region, seed) in tokens {
            _ = try await store.createToken(
                Fixtures.token(
                    id: "tok-\(seed)",
                    hashSeed: seed,
                    uses: 10,
                    labels: region.map { ["region": $0, "rack": "r\(seed)"] } ?? ["rack": "r\(seed)"]
                )
            )
        }
        let regions: [String?] = ["eu", "eu", "us", nil, "us", "eu"]
        for (index, region) in regions.enumerated() {
            _ = try await store.enrol(
                device: Fixtures.device(index, name: "d\(5 - index / 2)"),
                tokenHash: Fixtures.hash(tokens[region] ?? 0),
                now: Dates.at(1)
            )
        }
        let kws3 = InstalledModelRecord(name: "kws", version: 3, variant: "int8", sha256: Fixtures.hash(3))
        let kws2 = InstalledModelRecord(name: "kws", version: 2, variant: "int8", sha256: Fixtures.hash(2))
        let vad = InstalledModelRecord(name: "vad", version: 1, variant: "f32", sha256: Fixtures.hash(9))
        let running: [(Int, [InstalledModelRecord])] = [(0, [kws3, vad]), (1, [kws3]), (2, [kws2, vad])]
        try await store.recordHeartbeats(
            running.map { index, models in
                HeartbeatUpdate(
                    deviceID: "dev-\(index)",
                    lastSeen: Dates.at(2),
                    reported: ReportedState(agentVersion: "1.0.0", capabilities: [:], installedModels: models)
                )
            }
        )
        for index in [0, 4] {
            _ = try await store.setStatus(deviceID: "dev-\(index)", status: .online, at: Dates.at(3), detail: nil)
        }
    }

    @Test(arguments: CoordinatorBackend.allCases)
    func countsByStatusLabelAndInstalledModelMatchTheDecodedDevices(kind: CoordinatorBackend) async throws {
        try await withCoordinator(kind) { store in
            // Given a fleet
            try await fleet(store)

            // When it is counted in the database
            let counts = try await store.deviceCounts(label: "region")

            // Then the counts are those of the devices decoded one by one
            let devices = try await store.devices()
            #expect(counts.total == devices.count)
            #expect(counts.byStatus == [.online: 2, .offline: 4])
            #expect(counts.byLabel == Dictionary(devices.map { ($0.labels["region"], 1) }, uniquingKeysWith: +))
            #expect(counts.byLabel == ["eu": 3, "us": 2, nil: 1])
            let kws3 = InstalledModelKey(name: "kws", version: 3, variant: "int8")
            let kws2 = InstalledModelKey(name: "kws", version: 2, variant: "int8")
            let vad = InstalledModelKey(name: "vad", version: 1, variant: "f32")
            #expect(counts.byInstalledModel == [kws3: 2, kws2: 1, vad: 2])
            #expect(try await store.installedModelCounts() == counts.byInstalledModel)
            #expect(try await store.deviceCounts(label: "absent").byLabel == [nil: 6])
        }
    }

    @Test(arguments: CoordinatorBackend.allCases)
    func pagesFollowTheListOrderAndIdsAreLookedUpTogether(kind: CoordinatorBackend) async throws {
        try await withCoordinator(kind) { store in
            // Given a fleet whose names repeat (ordered by name, then id)
            try await fleet(store)
            let all = try await store.devices().map(\.id)

            // When it is read two devices a page
            var pages: [[String]] = []
            var after: String?
            while let page = try await store.devices(after: after, limit: 2), !page.isEmpty {
                pages.append(page.map(\.id))
                after = page.last?.id
            }

            // Then the pages are the list, in order, and an unknown cursor is told apart from the end
            #expect(pages.flatMap { $0 } == all)
            #expect(pages.map(\.count) == [2, 2, 2])
            #expect(try await store.devices(after: "nope", limit: 2) == nil)
            #expect(try await store.devices(ids: ["dev-5", "nope", "dev-0", "dev-5"]).map(\.id) == ["dev-5", "dev-0"])
            #expect(try await store.devices(ids: []).isEmpty)
        }
    }
}
