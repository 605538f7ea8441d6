import Foundation
import Testing

@testable import FleetStore

@Suite("Model assignments")
struct AssignmentTests {
    private func seed(_ store: CoordinatorStore) async throws {
        try await Fixtures.enrolDevices(3, in: store)
        try await ModelFixtures.push(
            [
                ModelFixtures.variant("kws", 1, "int8"), ModelFixtures.variant("kws", 1, "fp32"),
                ModelFixtures.variant("kws", 2, "int8"), ModelFixtures.variant("vad", 1, "f32"),
            ],
            to: store
        )
    }

    private func assignedEvents(_ store: CoordinatorStore) async throws -> [EventRecord] {
        try await store.events(deviceID: "dev-0", limit: 100, afterSequence: nil).filter { $0.kind == "assigned" }
    }

    @Test(arguments: CoordinatorBackend.allCases)
    func upsertEmitsAnEventOnlyWhenTheTargetChanges(backend: CoordinatorBackend) async throws {
        try await withCoordinator(backend) { store in
            try await seed(store)

            // When dev-0 is first assigned kws v1 int8
            let first = ModelFixtures.assignment("dev-0", "kws", 1, "int8", reason: "int8: within ram 48 MiB", at: 10)
            try await store.setAssignment(first)
            // Then it is stored and an event says so
            #expect(try await store.assignments(deviceID: "dev-0") == [first])
            #expect(try await assignedEvents(store).map(\.detail) == ["kws v1 int8: int8: within ram 48 MiB"])

            // When only the reason and date change
            let reworded = ModelFixtures.assignment("dev-0", "kws", 1, "int8", reason: "int8: still fits", at: 11)
            try await store.setAssignment(reworded)
            // Then the row is replaced but no event is added
            #expect(try await store.assignments(deviceID: "dev-0") == [reworded])
            #expect(try await assignedEvents(store).count == 1)

            // When the version changes, then to no variant, then to no variant again
            try await store.setAssignment(ModelFixtures.assignment("dev-0", "kws", 2, "int8", reason: "newer", at: 12))
            try await store.setAssignment(ModelFixtures.assignment("dev-0", "kws", nil, nil, reason: "no fit", at: 13))
            try await store.setAssignment(ModelFixtures.assignment("dev-0", "kws", nil, nil, reason: "no fit!", at: 14))
            // And the variant changes on the same version
            try await store.setAssignment(ModelFixtures.assignment("dev-0", "kws", 1, "fp32", reason: "ram", at: 15))

            // Then one event per change, dated by the assignment
            let events = try await assignedEvents(store)
            #expect(
                events.map(\.detail) == [
                    "kws v1 int8: int8: within ram 48 MiB",
                    "kws v2 int8 (was v1 int8): newer",
                    "kws none (was v2 int8): no fit",
                    "kws v1 fp32 (was none): ram",
                ]
            )
            #expect(events.map(\.at) == [Dates.at(10), Dates.at(12), Dates.at(13), Dates.at(15)])
        }
    }

    @Test(arguments: CoordinatorBackend.allCases)
    func assignmentsByDeviceAndByModel(backend: CoordinatorBackend) async throws {
        try await withCoordinator(backend) { store in
            try await seed(store)
            let assignments = [
                ModelFixtures.assignment("dev-2", "kws", 2, "int8"),
                ModelFixtures.assignment("dev-0", "vad", 1, "f32"),
                ModelFixtures.assignment("dev-0", "kws", 1, "fp32"),
                ModelFixtures.assignment("dev-1", "kws", nil, nil, reason: "no variant fits: ram 16 MiB"),
            ]
            for assignment in assignments {
                try await store.setAssignment(assignment)
            }

            #expect(try await store.assignments(deviceID: "dev-0") == [assignments[2], assignments[1]])
            #expect(try await store.assignments(model: "kws") == [assignments[2], assignments[3], assignments[0]])
            #expect(try await store.assignments(model: "vad") == [assignments[1]])
            #expect(try await store.assignments(deviceID: "dev-9").isEmpty)

            // Counted in the database: the same numbers as the rows read one by one
            #expect(
                try await store.assignmentCounts(model: "kws") == [
                    AssignmentCount(version: nil, variant: nil, devices: 1),
                    AssignmentCount(version: 1, variant: "fp32", devices: 1),
                    AssignmentCount(version: 2, variant: "int8", devices: 1),
                ]
            )
            #expect(try await store.assignmentCounts(model: "none").isEmpty)
            #expect(try await store.unfitAssignments(model: "kws") == [assignments[3]])
            #expect(try await store.unfitAssignments(model: "vad").isEmpty)
        }
    }

    @Test
    func assignmentsMustNameExistingThings() async throws {
        let store = try CoordinatorStore.inMemory()
        try await seed(store)

        await #expect(throws: StoreError.notFound) {
            try await store.setAssignment(ModelFixtures.assignment("dev-9", "kws", 1, "int8"))
        }
        await #expect(throws: StoreError.notFound) {
            try await store.setAssignment(ModelFixtures.assignment("dev-0", "kws", 1, "int4"))
        }
        await #expect(throws: StoreError.notFound) {
            try await store.setAssignment(ModelFixtures.assignment("dev-0", "asr", nil, nil))
        }
        await #expect(throws: StoreError.invalidArgument) {
            try await store.setAssignment(ModelFixtures.assignment("dev-0", "kws", 1, nil))
        }
        #expect(try await store.assignments(deviceID: "dev-0").isEmpty)
        #expect(try await assignedEvents(store).isEmpty)
    }
}
