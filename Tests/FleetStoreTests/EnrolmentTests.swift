import Foundation
import Testing

@testable import FleetStore

@Suite("Enrolment tokens and enrolment")
struct EnrolmentTests {
    @Test(arguments: CoordinatorBackend.allCases)
    func createdTokenIsListedWithoutItsHash(kind: CoordinatorBackend) async throws {
        try await withCoordinator(kind) { store in
            // Given / When
            let created = try await store.createToken(
                Fixtures.token(uses: 3, expiresAt: Dates.at(3600), labels: ["site": "lab"])
            )

            // Then
            #expect(
                created
                    == EnrolmentTokenRecord(
                        id: "tok-1",
                        usesTotal: 3,
                        usesLeft: 3,
                        expiresAt: Dates.at(3600),
                        labels: ["site": "lab"],
                        createdAt: Dates.start
                    )
            )
            #expect(try await store.tokens() == [created])
        }
    }

    @Test(arguments: CoordinatorBackend.allCases)
    func tokenIDOrHashTakenIsDuplicate(kind: CoordinatorBackend) async throws {
        try await withCoordinator(kind) { store in
            // Given
            _ = try await store.createToken(Fixtures.token(id: "a", hashSeed: 1))

            // When / Then
            await #expect(throws: StoreError.duplicate) {
                try await store.createToken(Fixtures.token(id: "a", hashSeed: 2))
            }
            await #expect(throws: StoreError.duplicate) {
                try await store.createToken(Fixtures.token(id: "b", hashSeed: 1))
            }
            await #expect(throws: StoreError.invalidArgument) {
                try await store.createToken(Fixtures.token(id: "c", hashSeed: 3, uses: 0))
            }
            #expect(try await store.tokens().map(\.id) == ["a"])
        }
    }

    @Test(arguments: CoordinatorBackend.allCases)
    func enrolConsumesUsesAndSingleUseTokenIsThenExhausted(kind: CoordinatorBackend) async throws {
        try await withCoordinator(kind) { store in
            // Given a single-use token
            _ = try await store.createToken(Fixtures.token(uses: 1))

            // When a first device enrols
            let device = try await store.enrol(
                device: Fixtures.device(1),
                tokenHash: Fixtures.hash(1),
                now: Dates.at(5)
            )

            // Then it is stored, offline, never seen, and the token is used up
            #expect(device.id == "dev-1")
            #expect(device.status == .offline)
            #expect(device.lastSeen == nil)
            #expect(device.tokenID == "tok-1")
            #expect(device.installedModels.isEmpty)
            #expect(try await store.device(id: "dev-1") == device)
            #expect(try await store.tokens().first?.usesLeft == 0)

            // When a second device enrols with the same token, Then it is refused
            await #expect(throws: StoreError.tokenExhausted) {
                try await store.enrol(device: Fixtures.device(2), tokenHash: Fixtures.hash(1), now: Dates.at(6))
            }
            #expect(try await store.deviceCount() == 1)
        }
    }

    @Test(arguments: CoordinatorBackend.allCases)
    func multiUseTokenCountsDown(kind: CoordinatorBackend) async throws {
        try await withCoordinator(kind) { store in
            _ = try await store.createToken(Fixtures.token(uses: 3))

            for index in 0..<2 {
                _ = try await store.enrol(
                    device: Fixtures.device(index),
                    tokenHash: Fixtures.hash(1),
                    now: Dates.at(5)
                )
            }

            let token = try #require(try await store.tokens().first)
            #expect(token.usesTotal == 3)
            #expect(token.usesLeft == 1)
        }
    }

    @Test(arguments: CoordinatorBackend.allCases)
    func expiredTokenIsRefused(kind: CoordinatorBackend) async throws {
        try await withCoordinator(kind) { store in
            // Given a token expiring at t+60
            _ = try await store.createToken(Fixtures.token(uses: 5, expiresAt: Dates.at(60)))

            // When enrolling at the expiry instant, Then it is expired
            await #expect(throws: StoreError.tokenExpired) {
                try await store.enrol(device: Fixtures.device(1), tokenHash: Fixtures.hash(1), now: Dates.at(60))
            }
            // and no use was consumed, no device stored
            #expect(try await store.tokens().first?.usesLeft == 5)
            #expect(try await store.deviceCount() == 0)

            // When enrolling just before, Then it works
            _ = try await store.enrol(device: Fixtures.device(1), tokenHash: Fixtures.hash(1), now: Dates.at(59.999))
            #expect(try await store.deviceCount() == 1)
        }
    }

    @Test(arguments: CoordinatorBackend.allCases)
    func unknownTokenIsRefused(kind: CoordinatorBackend) async throws {
        try await withCoordinator(kind) { store in
            _ = try await store.createToken(Fixtures.token())

            await #expect(throws: StoreError.tokenUnknown) {
                try await store.enrol(device: Fixtures.device(1), tokenHash: Fixtures.hash(9), now: Dates.at(1))
            }
            #expect(try await store.deviceCount() == 0)
        }
    }

    @Test(arguments: CoordinatorBackend.allCases)
    func enrolledPublicKeyIsRefusedAndTokenUseIsNotConsumed(kind: CoordinatorBackend) async throws {
        try await withCoordinator(kind) { store in
            // Given a device enrolled with key K, and a second token
            _ = try await store.createToken(Fixtures.token(id: "first", hashSeed: 1))
            _ = try await store.createToken(Fixtures.token(id: "second", hashSeed: 2, uses: 2))
            _ = try await store.enrol(device: Fixtures.device(1), tokenHash: Fixtures.hash(1), now: Dates.at(1))
            let eventsBefore = try await store.events(deviceID: nil, limit: 100, afterSequence: nil)

            // When another device enrols with the same key K
            await #expect(throws: StoreError.deviceKeyInUse) {
                try await store.enrol(
                    device: Fixtures.device(2, key: Fixtures.publicKey(1)),
                    tokenHash: Fixtures.hash(2),
                    now: Dates.at(2)
                )
            }

            // Then nothing changed: the token keeps its uses, no device, no event
            let second = try await store.tokens().first { $0.id == "second" }
            #expect(second?.usesLeft == 2)
            #expect(try await store.deviceCount() == 1)
            #expect(try await store.device(id: "dev-2") == nil)
            #expect(try await store.events(deviceID: nil, limit: 100, afterSequence: nil) == eventsBefore)
        }
    }

    @Test(arguments: CoordinatorBackend.allCases)
    func takenDeviceIDIsDuplicateAndTokenUseIsNotConsumed(kind: CoordinatorBackend) async throws {
        try await withCoordinator(kind) { store in
            _ = try await store.createToken(Fixtures.token(uses: 2))
            _ = try await store.enrol(device: Fixtures.device(1), tokenHash: Fixtures.hash(1), now: Dates.at(1))

            await #expect(throws: StoreError.duplicate) {
                try await store.enrol(
                    device: Fixtures.device(1, key: Fixtures.publicKey(99)),
                    tokenHash: Fixtures.hash(1),
                    now: Dates.at(2)
                )
            }
            #expect(try await store.tokens().first?.usesLeft == 1)
        }
    }

    @Test(arguments: CoordinatorBackend.allCases)
    func tokenLabelsWinOverDeviceLabels(kind: CoordinatorBackend) async throws {
        try await withCoordinator(kind) { store in
            // Given a token with site and tier labels
            _ = try await store.createToken(Fixtures.token(labels: ["site": "lab", "tier": "canary"]))

            // When a device asks for its own tier, a region and a role
            let device = try await store.enrol(
                device: Fixtures.device(1, labels: ["tier": "stable", "region": "eu", "role": "camera"]),
                tokenHash: Fixtures.hash(1),
                now: Dates.at(1)
            )

            // Then it gets the token's site and tier (the token's labels are the administrator's), no region
            // (protected: only a token sets it), and its own role
            let expected = ["site": "lab", "tier": "canary", "role": "camera"]
            #expect(device.labels == expected)
            #expect(try await store.device(id: "dev-1")?.labels == expected)
        }
    }

    @Test(arguments: CoordinatorBackend.allCases)
    func enrolAppendsAnEnrolledEvent(kind: CoordinatorBackend) async throws {
        try await withCoordinator(kind) { store in
            _ = try await store.createToken(Fixtures.token())

            _ = try await store.enrol(device: Fixtures.device(1), tokenHash: Fixtures.hash(1), now: Dates.at(7))

            let events = try await store.events(deviceID: "dev-1", limit: 10, afterSequence: nil)
            #expect(events.map(\.kind) == ["enrolled"])
            #expect(events.first?.at == Dates.at(7))
        }
    }
}
