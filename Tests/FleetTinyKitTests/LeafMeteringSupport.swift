// A TinyLeafMeter over in-memory meter records, with grants signed by FleetTrust and the leaf's receipts checked by
// FleetTrust's decoder and the coordinator's UsageChainCheck.
import Crypto
import FleetTrust
import Foundation

@testable import FleetCoordinator
@testable import FleetTinyKit

/// The leaf's key/flash storage, kept across "restarts" (a new ``MeterHarness`` over the same records).
final class MeterRecords {
    var records: [Int: [UInt8]] = [:]
    var failStores = false
}

struct MeterStorage: TinyKeyStorage {
    let world: MeterRecords

    func loadRecord(_ record: TinyRecord, into buffer: UnsafeMutableRawBufferPointer) -> Bool { false }
    mutating func storeRecord(_ record: TinyRecord, _ bytes: UnsafeRawBufferPointer) -> Bool { true }
    func loadMeterRecord(_ index: Int, into buffer: UnsafeMutableRawBufferPointer) -> Bool {
        guard let bytes = world.records[index], bytes.count == buffer.count else { return false }
        buffer.copyBytes(from: bytes)
        return true
    }
    mutating func storeMeterRecord(_ index: Int, _ bytes: UnsafeRawBufferPointer) -> Bool {
        guard !world.failStores else { return false }
        world.records[index] = Array(bytes)
        return true
    }
}

/// A leaf identity and the coordinator's release key.
struct MeterIdentity {
    let release = ReleaseKey.generate()
    let seed: [UInt8] = (0..<32).map { _ in UInt8.random(in: 0...255) }
    var publicKey: [UInt8] {
        Array(try! Curve25519.Signing.PrivateKey(rawRepresentation: seed).publicKey.rawRepresentation)
    }
    var deviceID: String { DeviceIdentity.deviceID(forPublicKey: publicKey) }

    static let start = Date(timeIntervalSince1970: 1_790_000_000)

    func grant(
        _ sequence: UInt64,
        queries: UInt64 = 100,
        model: String = "digits-mlp",
        device: String? = nil,
        action: QuotaGrant.Action = .grant,
        expiresAt: Date? = nil,
        grace: UInt64 = 0,
        rate: UInt64 = 0,
        signer: ReleaseKey? = nil
    ) -> [UInt8] {
        let grant = QuotaGrant(
            deviceID: device ?? deviceID,
            model: model,
            sequence: sequence,
            action: action,
            queries: action == .grant ? queries : 0,
            issuedAt: Self.start,
            expiresAt: expiresAt,
            priceMicros: 1500,
            currency: "USD",
            ratePerSecond: rate,
            offlineGrace: grace
        )
        return try! SignedQuotaGrant.sign(grant, with: signer ?? release).encoded()
    }
}

/// The coordinator's side of the ledger: each receipt through UsageChainCheck, stored when it appends.
struct CoordinatorLedger {
    var stored: [[UInt8]] = []
    var verdicts: [UsageChainCheck.Verdict] = []

    mutating func check(_ bytes: [UInt8], identity: MeterIdentity) throws -> UsageChainCheck.Verdict {
        let signed = try SignedUsageReceipt(decoding: bytes)
        let hash = try signed.hash()
        let index = Int(signed.receipt.index)
        let head = stored.last.map { (position: UInt64(stored.count - 1), hash: Digest.sha256($0)) }
        let verdict = UsageChainCheck.check(
            signed,
            hash: hash,
            deviceID: identity.deviceID,
            publicKey: identity.publicKey,
            head: head,
            stored: index < stored.count ? Digest.sha256(stored[index]) : nil
        )
        if verdict == .append { stored.append(bytes) }
        verdicts.append(verdict)
        return verdict
    }

    /// Queries billed: the sum of the stored receipts' counts.
    var queries: UInt64 {
        stored.reduce(0) { $0 + (try! SignedUsageReceipt(decoding: $1)).receipt.count }
    }
}

/// One leaf's meter: the buffer, the storage, and the clock (server time set as by a helloAccept).
final class MeterHarness {
    let identity: MeterIdentity
    let buffer: UnsafeMutableRawBufferPointer
    var meter: TinyLeafMeter
    var storage: MeterStorage
    var monotonic: UInt64 = 1000

    init(_ identity: MeterIdentity, records: MeterRecords, grants: Int = 4, serverTime: Date = MeterIdentity.start) {
        self.identity = identity
        buffer = .allocate(byteCount: TinyLeafMeter.bufferSize(grants: grants), alignment: 8)
        meter = TinyLeafMeter(buffer: buffer, grants: grants)!
        storage = MeterStorage(world: records)
        let id = Array(identity.deviceID.utf8)
        let key = identity.release.publicKey
        key.withUnsafeBytes { keyBytes in
            id.withUnsafeBytes { meter.load(from: storage, releaseKey: keyBytes, deviceID: $0) }
        }
        meter.setServerTime(UInt64(serverTime.timeIntervalSince1970 * 1000), monotonic: monotonic)
    }

    deinit { buffer.deallocate() }

    func receive(_ grant: [UInt8]) -> TinyLeafMeter.GrantOutcome {
        let id = Array(identity.deviceID.utf8)
        return identity.release.publicKey.withUnsafeBytes { key in
            id.withUnsafeBytes { idBytes in
                grant.withUnsafeBytes {
                    meter.receive(grant: $0, releaseKey: key, deviceID: idBytes, storage: &storage)
                }
            }
        }
    }

    func consume(_ model: String = "digits-mlp", version: Int = 3, online: Bool = true) -> TinyLeafMeter.Result {
        monotonic += 10
        return Array(model.utf8).withUnsafeBytes {
            meter.consume(model: $0, version: version, online: online, monotonic: monotonic, storage: &storage)
        }
    }

    /// The next signed receipt (sealed), or nil.
    func nextReceipt() -> [UInt8]? {
        let id = Array(identity.deviceID.utf8)
        let key = identity.publicKey
        return id.withUnsafeBytes { idBytes in
            identity.seed.withUnsafeBytes { seedBytes in
                key.withUnsafeBytes { keyBytes in
                    meter.nextReceipt(deviceID: idBytes, seed: seedBytes, publicKey: keyBytes, storage: &storage)
                        .map { Array($0) }
                }
            }
        }
    }

    /// Sends every unsynced receipt through `ledger`, acknowledging each it accepts; returns them.
    @discardableResult
    func sync(into ledger: inout CoordinatorLedger) throws -> [[UInt8]] {
        var sent: [[UInt8]] = []
        while let receipt = nextReceipt() {
            let verdict = try ledger.check(receipt, identity: identity)
            guard verdict == .append || verdict == .duplicate else { break }
            meter.receiptAcknowledged(storage: &storage)
            sent.append(receipt)
        }
        return sent
    }
}

extension TinyLeafMeter {
    func isMeteredForTest(_ model: String) -> Bool {
        Array(model.utf8).withUnsafeBytes { isMetered($0) }
    }
}

extension LeafUnderTest {
    /// A metered leaf whose installer runs digits-mlp v1 (int8).
    static func meteredRunningDigits(_ world: LeafWorld) -> LeafUnderTest {
        world.installerModel = [UInt8](repeating: 0, count: 32).withUnsafeBytes { sha in
            TinyInstalledModel(
                name: Array("digits-mlp".utf8).withUnsafeBytes { $0 },
                version: 1,
                variant: Array("int8".utf8).withUnsafeBytes { $0 },
                sha256: sha
            )
        }
        return LeafUnderTest(world: world, metered: true)
    }
}
