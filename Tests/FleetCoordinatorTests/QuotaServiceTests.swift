import FleetStore
import FleetTrust
import FleetWire
import Foundation
import Logging
import Testing

@testable import FleetCoordinator

/// The coordinator's side of metering on a real (in-memory) store: grants name devices unambiguously and keep one
/// currency per device and model; a verified chain is stored and billed, a tampered one stops at the tampering.
@Suite struct QuotaServiceTests {
    let release = ReleaseKey.generate()

    func setUp(
        names: [String],
        labels: [[String: String]] = []
    ) async throws
        -> (CoordinatorStore, QuotaService, [DeviceIdentity])
    {
        let store = try CoordinatorStore.inMemory()
        _ = try await store.createToken(
            NewEnrolmentToken(id: "t-1", secretHash: [1], uses: 10, expiresAt: nil, labels: [:], createdAt: Date())
        )
        var identities: [DeviceIdentity] = []
        for (index, name) in names.enumerated() {
            let identity = DeviceIdentity.generate()
            identities.append(identity)
            _ = try await store.enrol(
                device: NewDevice(
                    id: DeviceIdentity.deviceID(forPublicKey: identity.publicKey),
                    name: name,
                    publicKey: identity.publicKey,
                    labels: index < labels.count ? labels[index] : [:],
                    capabilities: [:],
                    agentVersion: "test",
                    enrolledAt: Date()
                ),
                tokenHash: [1],
                now: Date()
            )
        }
        let service = QuotaService(
            store: store,
            releaseKey: release,
            connections: ConnectionRegistry(),
            logger: Logger.quietTest
        )
        return (store, service, identities)
    }

    func grant(
        _ service: QuotaService,
        device: String,
        selector: [String: String] = [:],
        currency: String = "USD"
    )
        async -> Message?
    {
        await service.handleAdmin(
            .grantQuota(
                GrantQuota(
                    requestID: 9,
                    device: device,
                    selector: selector,
                    model: "digits-mlp",
                    queries: 10,
                    priceMicros: 1500,
                    currency: currency
                )
            ),
            frameBudget: 1 << 20
        )
    }

    @Test func anAmbiguousNameIsRefusedAndASelectorGrantsEachMatchingDevice() async throws {
        let (_, service, _) = try await setUp(
            names: ["cam", "cam", "door"],
            labels: [["tier": "paid"], ["tier": "paid"], [:]]
        )
        guard case .error(let error) = await grant(service, device: "cam") else {
            Issue.record("two devices named cam were both granted")
            return
        }
        #expect(error.code == .badRequest && error.message.contains("2 devices are named cam"))
        guard case .quotaGranted(let granted) = await grant(service, device: "", selector: ["tier": "paid"]) else {
            Issue.record("the selector granted nothing")
            return
        }
        let grants = try granted.grants.map { try SignedQuotaGrant(decoding: $0) }
        #expect(grants.count == 2 && Set(grants.map(\.grant.deviceID)).count == 2)
        #expect(
            grants.allSatisfy {
                (try? $0.verify(releasePublicKey: release.publicKey, deviceID: $0.grant.deviceID)) != nil
            }
        )
    }

    @Test func aSecondCurrencyForTheSameDeviceAndModelIsRefused() async throws {
        let (_, service, _) = try await setUp(names: ["cam"])
        guard case .quotaGranted = await grant(service, device: "cam", currency: "USD") else {
            Issue.record("first grant refused")
            return
        }
        guard case .error(let error) = await grant(service, device: "cam", currency: "EUR") else {
            Issue.record("a grant in another currency was accepted")
            return
        }
        #expect(error.code == .conflict)
    }

    @Test func aVerifiedChainIsBilledAndATamperedOneStopsWhereItIsTampered() async throws {
        let (store, service, identities) = try await setUp(names: ["cam"])
        guard case .quotaGranted(let granted) = await grant(service, device: "cam") else {
            Issue.record("grant refused")
            return
        }
        let sequence = try SignedQuotaGrant(decoding: granted.grants[0]).grant.sequence
        let identity = identities[0]
        let device = DeviceIdentity.deviceID(forPublicKey: identity.publicKey)
        var previous = UsageReceipt.genesis
        var chain: [SignedUsageReceipt] = []
        for index in 0..<3 {
            let signed = try SignedUsageReceipt.sign(
                UsageReceipt(
                    deviceID: device,
                    index: UInt64(index),
                    previous: previous,
                    model: "digits-mlp",
                    version: 1,
                    grant: sequence,
                    kind: .granted,
                    count: 2,
                    windowStart: Date(),
                    windowEnd: Date()
                ),
                with: identity
            )
            previous = try signed.hash()
            chain.append(signed)
        }
        // Receipt 1 left out: 0 is stored, 2 is a gap.
        let report = UsageReport(requestID: 5, receipts: [try chain[0].encoded(), try chain[2].encoded()])
        guard case .error(let error) = await service.handle(.usageReport(report), from: device) else {
            Issue.record("a gap was accepted")
            return
        }
        #expect(error.code == .conflict && error.message.contains("gap"))
        #expect(try await store.usageReceipts(deviceID: device).map(\.position) == [0])
        let whole = UsageReport(requestID: 6, receipts: try chain.map { try $0.encoded() })
        #expect(await service.handle(.usageReport(whole), from: device) == .ack(Ack(requestID: 6)))
        let stored = try await store.usageReceipts(deviceID: device)
        #expect(stored.map(\.position) == [0, 1, 2] && stored.reduce(0) { $0 + $1.amountMicros } == 9_000)
        let events = try await store.events(deviceID: device, limit: 10, afterSequence: nil)
        #expect(events.contains { $0.kind == "usage_tamper" && $0.detail.contains("gap: expected receipt 1") })
    }
}
