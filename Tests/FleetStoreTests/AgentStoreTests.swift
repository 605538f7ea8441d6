import Foundation
import GRDB
import Testing

@testable import FleetStore

@Suite("Agent store")
struct AgentStoreTests {
    @Test(arguments: StoreKind.allCases)
    func valuesRoundTrip(kind: StoreKind) async throws {
        try await withAgent(kind) { store in
            // Given nothing stored
            #expect(try await store.value(forKey: "device-id") == nil)

            // When values are set, replaced and removed
            try await store.setValue(Array("dev-1".utf8), forKey: "device-id")
            try await store.setValue([1, 2, 3], forKey: "identity-key")
            try await store.setValue([4, 5], forKey: "identity-key")
            try await store.setValue([], forKey: "empty")
            try await store.removeValue(forKey: "device-id")
            try await store.removeValue(forKey: "never-there")

            // Then
            #expect(try await store.value(forKey: "device-id") == nil)
            #expect(try await store.value(forKey: "identity-key") == [4, 5])
            #expect(try await store.value(forKey: "empty") == [])
            #expect(try await store.keys() == ["empty", "identity-key"])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func setValuesIsAllOrNothing(kind: StoreKind) async throws {
        try await withAgent(kind) { store in
            // Given a store where writing one particular key fails
            try await store.setValue([0], forKey: "a")
            try await store.writer.write { db in
                try db.execute(
                    sql: """
                        CREATE TEMP TRIGGER "poison" BEFORE INSERT ON "state" WHEN NEW."key" = 'poison'
                        BEGIN SELECT RAISE(ABORT, 'poisoned'); END
                        """
                )
            }

            // When a batch holding that key is written
            await #expect(throws: StoreError.self) {
                try await store.setValues(["a": [1], "b": [2], "poison": [3], "c": [4]])
            }

            // Then none of the batch landed
            #expect(try await store.value(forKey: "a") == [0])
            #expect(try await store.keys() == ["a"])

            // And a good batch lands whole
            try await store.setValues(["a": [1], "b": [2], "c": [3]])
            #expect(try await store.value(forKey: "a") == [1])
            #expect(try await store.keys() == ["a", "b", "c"])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func outboxDeliversOldestFirst(kind: StoreKind) async throws {
        try await withAgent(kind) { store in
            // Given three items enqueued in order
            var enqueued: [OutboxItem] = []
            for index in 0..<3 {
                enqueued.append(
                    try await store.enqueue(
                        kind: "status",
                        payload: [UInt8(index)],
                        idempotencyKey: nil,
                        now: Dates.at(Double(index))
                    )
                )
            }

            // When / Then
            #expect(try await store.pendingOutbox(limit: 10) == enqueued)
            #expect(try await store.pendingOutbox(limit: 2) == Array(enqueued.prefix(2)))
            #expect(try await store.pendingOutbox(limit: 0).isEmpty)
            #expect(enqueued.map(\.createdAt) == [Dates.at(0), Dates.at(1), Dates.at(2)])
            #expect(try await store.outboxCount() == 3)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func duplicateIdempotencyKeyReturnsThePendingItem(kind: StoreKind) async throws {
        try await withAgent(kind) { store in
            // Given an item with a key
            let first = try await store.enqueue(
                kind: "result",
                payload: [1],
                idempotencyKey: "round-5",
                now: Dates.at(1)
            )

            // When the same key is enqueued again
            let second = try await store.enqueue(
                kind: "result",
                payload: [2],
                idempotencyKey: "round-5",
                now: Dates.at(2)
            )

            // Then it is the same item, and there is one row
            #expect(second == first)
            #expect(try await store.outboxCount() == 1)
            #expect(try await store.pendingOutbox(limit: 10).first?.payload == [1])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func acknowledgeDeletesUpToSequenceAndSequencesAreNeverReused(kind: StoreKind) async throws {
        try await withAgent(kind) { store in
            // Given four items
            var items: [OutboxItem] = []
            for index in 0..<4 {
                items.append(
                    try await store.enqueue(kind: "k", payload: [UInt8(index)], idempotencyKey: nil, now: Dates.at(1))
                )
            }

            // When the first two are acknowledged
            let removed = try await store.acknowledgeOutbox(upTo: items[1].sequence)

            // Then two remain, in order
            #expect(removed == 2)
            #expect(try await store.pendingOutbox(limit: 10) == Array(items[2...]))
            #expect(try await store.acknowledgeOutbox(upTo: items[1].sequence) == 0)

            // When everything is acknowledged and a new item comes, Then its sequence is new
            #expect(try await store.acknowledgeOutbox(upTo: items[3].sequence) == 2)
            let next = try await store.enqueue(kind: "k", payload: [], idempotencyKey: nil, now: Dates.at(2))
            #expect(next.sequence > items[3].sequence)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func removeOutboxByKind(kind: StoreKind) async throws {
        try await withAgent(kind) { store in
            _ = try await store.enqueue(kind: "status", payload: [1], idempotencyKey: nil, now: Dates.at(1))
            let kept = try await store.enqueue(kind: "result", payload: [2], idempotencyKey: "r", now: Dates.at(2))
            _ = try await store.enqueue(kind: "status", payload: [3], idempotencyKey: nil, now: Dates.at(3))

            #expect(try await store.removeOutbox(kind: "status") == 2)
            #expect(try await store.removeOutbox(kind: "status") == 0)
            #expect(try await store.pendingOutbox(limit: 10) == [kept])
        }
    }

    @Test
    func stateAndOutboxSurviveReopen() async throws {
        // Given a store with values and pending items, closed
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("state/agent.sqlite")
        let store = try AgentStore(path: path)
        try await store.setValues(["device-id": Array("dev-1".utf8), "coordinator": Array("10.0.0.1:7000".utf8)])
        let first = try await store.enqueue(kind: "a", payload: [1], idempotencyKey: "k1", now: Dates.at(1))
        let second = try await store.enqueue(kind: "b", payload: [2], idempotencyKey: nil, now: Dates.at(2))
        try await store.close()

        // When it is reopened
        let reopened = try AgentStore(path: path)

        // Then everything is there, idempotency still holds, and order continues
        #expect(try await reopened.value(forKey: "device-id") == Array("dev-1".utf8))
        #expect(try await reopened.pendingOutbox(limit: 10) == [first, second])
        #expect(try await reopened.enqueue(kind: "a", payload: [9], idempotencyKey: "k1", now: Dates.at(3)) == first)
        let third = try await reopened.enqueue(kind: "c", payload: [3], idempotencyKey: nil, now: Dates.at(4))
        #expect(third.sequence > second.sequence)
    }

    @Test
    func readOnlyAgentStoreReadsAndRefusesWrites() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("agent.sqlite")
        let store = try AgentStore(path: path)
        try await store.setValue([7], forKey: "x")
        _ = try await store.enqueue(kind: "a", payload: [1], idempotencyKey: nil, now: Dates.at(1))

        let reader = try AgentStore.openReadOnly(path: path)

        #expect(try await reader.value(forKey: "x") == [7])
        #expect(try await reader.outboxCount() == 1)
        await #expect(throws: StoreError.readOnly) { try await reader.setValue([8], forKey: "x") }
        await #expect(throws: StoreError.readOnly) {
            try await reader.enqueue(kind: "a", payload: [], idempotencyKey: nil, now: Dates.at(2))
        }
        #expect(throws: StoreError.notFound) { try AgentStore.openReadOnly(path: directory.path("missing.sqlite")) }
    }
}
