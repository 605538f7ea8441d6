import FleetTinyKit
import FleetTrust
import Foundation

/// What pay per query costs a leaf (`Protocol/METERING.md`, "On a leaf"), measured with FleetTinyKit built for the
/// host: the time of ``TinyLeafMeter/consume(model:version:online:monotonic:storage:)`` (draw one query and store
/// the counters, meter record 0, into RAM here: a leaf's flash write comes on top) and of sealing and signing one
/// receipt with the kit's own Ed25519 (``TinyLeafMeter/nextReceipt(deviceID:seed:publicKey:storage:)``).
struct LeafMeteringFigures: Codable {
    var queries: Int
    var consumeMicrosecondsMedian: Double
    var receiptMicrosecondsMedian: Double
    /// Bytes of meter record 0, written before each answer (a table of 4 grant slots).
    var counterRecordBytes: Int

    /// Meter records in RAM, standing in for the leaf's flash.
    private struct Records: TinyKeyStorage {
        var meter: [Int: [UInt8]] = [:]
        func loadRecord(_ record: TinyRecord, into buffer: UnsafeMutableRawBufferPointer) -> Bool { false }
        mutating func storeRecord(_ record: TinyRecord, _ bytes: UnsafeRawBufferPointer) -> Bool { true }
        func loadMeterRecord(_ index: Int, into buffer: UnsafeMutableRawBufferPointer) -> Bool { false }
        mutating func storeMeterRecord(_ index: Int, _ bytes: UnsafeRawBufferPointer) -> Bool {
            meter[index] = Array(bytes)
            return true
        }
    }

    /// Meters `queries` queries of one model, one receipt every 10 (signed and acknowledged at once).
    static func measure(queries: Int) throws -> LeafMeteringFigures {
        let grants = 4
        let buffer = UnsafeMutableRawBufferPointer.allocate(
            byteCount: TinyLeafMeter.bufferSize(grants: grants),
            alignment: 8
        )
        defer { buffer.deallocate() }
        guard var meter = TinyLeafMeter(buffer: buffer, grants: grants) else { throw BenchError("meter buffer") }
        var records = Records()
        let release = ReleaseKey.generate()
        let identity = DeviceIdentity.generate()
        let seed = identity.privateKeyBytes
        let publicKey = identity.publicKey
        let deviceID = Array(DeviceIdentity.deviceID(forPublicKey: publicKey).utf8)
        let model = Array("digits-mlp".utf8)
        let grant = try SignedQuotaGrant.sign(
            QuotaGrant(
                deviceID: String(decoding: deviceID, as: UTF8.self),
                model: "digits-mlp",
                sequence: 1,
                queries: UInt64(queries) * 2,
                issuedAt: Date(),
                priceMicros: 1500,
                currency: "USD"
            ),
            with: release
        ).encoded()
        let kept = release.publicKey.withUnsafeBytes { key in
            deviceID.withUnsafeBytes { id in
                grant.withUnsafeBytes { meter.receive(grant: $0, releaseKey: key, deviceID: id, storage: &records) }
            }
        }
        guard kept == .kept else { throw BenchError("the grant was not kept: \(kept)") }
        meter.setServerTime(UInt64(Date().timeIntervalSince1970 * 1000), monotonic: 0)
        var consume: [Double] = []
        var receipts: [Double] = []
        for query in 0..<queries {
            var start = DispatchTime.now().uptimeNanoseconds
            let result = model.withUnsafeBytes {
                meter.consume(model: $0, version: 1, online: true, monotonic: UInt64(query), storage: &records)
            }
            consume.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e3)
            guard result == .answered(kind: 0) else { throw BenchError("query \(query): \(result)") }
            guard query % 10 == 9 else { continue }
            start = DispatchTime.now().uptimeNanoseconds
            let signed = deviceID.withUnsafeBytes { id in
                seed.withUnsafeBytes { seedBytes in
                    publicKey.withUnsafeBytes { key in
                        meter.nextReceipt(deviceID: id, seed: seedBytes, publicKey: key, storage: &records)?.count
                    }
                }
            }
            receipts.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e3)
            guard signed != nil else { throw BenchError("no receipt after query \(query)") }
            meter.receiptAcknowledged(storage: &records)
        }
        return LeafMeteringFigures(
            queries: queries,
            consumeMicrosecondsMedian: median(consume),
            receiptMicrosecondsMedian: median(receipts),
            counterRecordBytes: TinyLeafMeter.stateSize(grants: grants)
        )
    }
}
