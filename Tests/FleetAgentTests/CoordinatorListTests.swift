import FleetClient
import FleetStore
import Testing

@testable import FleetAgent

/// `--coordinator a:7420,b:7420,c:7420`: what a list accepts and refuses, how the agent moves along it, and that
/// it is saved for later starts (with a single address saved by an older agent still read).
struct CoordinatorListTests {
    @Test func aListParsesInOrderWithSpacesAndIPv6() throws {
        let list = try CoordinatorList(parsing: "a.example:7420, 10.0.0.2:7421 ,[::1]:7422")
        #expect(list.addresses.map(\.description) == ["a.example:7420", "10.0.0.2:7421", "[::1]:7422"])
        #expect(list.description == "a.example:7420,10.0.0.2:7421,[::1]:7422")
        #expect(try CoordinatorList(parsing: list.description) == list)
        #expect(
            try CoordinatorList(parsing: "127.0.0.1:7420").addresses == [
                CoordinatorAddress(host: "127.0.0.1", port: 7420)
            ]
        )
    }

    @Test(arguments: [
        ("", "expected HOST:PORT"),
        ("a:7420,", "expected HOST:PORT"),
        ("a:7420,,b:7420", "expected HOST:PORT"),
        ("a:7420,b", "expected HOST:PORT"),
        ("a:7420,a:7420", "a:7420 is listed twice"),
        ("a:70000", "expected HOST:PORT"),
    ])
    func malformedListsAreRefusedWithTheReason(text: String, reason: String) {
        #expect {
            _ = try CoordinatorList(parsing: text)
        } throws: { error in
            "\(error)".contains(reason)
        }
    }

    @Test func aListLongerThanTheLimitIsRefusedBeforeItIsParsed() {
        let text = (0...CoordinatorList.maximumCount).map { "h\($0):7420" }.joined(separator: ",")
        #expect {
            _ = try CoordinatorList(parsing: text)
        } throws: { error in
            "\(error)".contains("more than \(CoordinatorList.maximumCount) coordinators")
        }
        let longest = (1...CoordinatorList.maximumCount).map { "h\($0):7420" }.joined(separator: ",")
        #expect((try? CoordinatorList(parsing: longest))?.addresses.count == CoordinatorList.maximumCount)
    }

    @Test func theRotationVisitsEachCoordinatorInTurnAndWraps() throws {
        let rotation = CoordinatorRotation(try CoordinatorList(parsing: "a:1,b:2,c:3"))
        var seen = [rotation.current.host]
        for _ in 0..<6 { seen.append(rotation.advance().host) }
        #expect(seen == ["a", "b", "c", "a", "b", "c", "a"])
        #expect(rotation.current.host == "a")
        let single = CoordinatorRotation(CoordinatorList(CoordinatorAddress(host: "only", port: 1)))
        #expect(single.advance().host == "only")
    }

    @Test func theListIsSavedAndASingleSavedAddressStillReads() async throws {
        let store = try AgentStore.inMemory()
        let state = AgentStateStore(store: store)
        #expect(try await state.savedCoordinators() == nil)
        let list = try CoordinatorList(parsing: "a:7420,b:7420")
        try await state.saveCoordinators(list)
        #expect(try await state.savedCoordinators() == list)
        // What an agent before lists saved: one address, under the same key.
        try await store.setValue(Array("old.example:7420".utf8), forKey: "coordinator.address")
        #expect(try await state.savedCoordinators()?.addresses == [CoordinatorAddress(host: "old.example", port: 7420)])
    }
}
