import FleetLearning
import FleetModelIO
import FleetStore
import FleetTrust
import FleetWire
import Foundation
import Logging
import Synchronization

/// Hybrid inference on the coordinator (SPEC 15a.6): runs the newest version of a model it holds (the built-in
/// MLP) on a device's rows and answers over the device link. Bounded: at most `maximumInFlight` requests at once
/// over all devices and one per device, and at most `rowsPerSecondPerDevice` rows a second per device (a burst of
/// one second's worth); more is error 503 (retry later). For a metered model, rows beyond what the
/// device's grants allow (as far as its synced ledger shows) are refused with 302. The device meters the answered
/// queries in its own ledger, as cloud receipts priced at the grant's cloud price.
struct OffloadService: DeviceMessageHandler {
    let store: CoordinatorStore
    let blobs: BlobStore
    let logger: Logger
    var maximumInFlight = 4
    /// Rows (queries) a second each device may offload: at least one request of the most rows a request may carry.
    var rowsPerSecondPerDevice = UInt64(OffloadInfer.maximumRows)
    let rates = RateLimiter()
    var now: @Sendable () -> Date = { Date() }
    let inFlight = OffloadSlots()
    let models = LoadedMLPs()

    func handle(_ message: Message, from deviceID: String) async -> Message? {
        guard case .offloadInfer(let request) = message else { return nil }
        func refuse(_ code: ErrorCode, _ text: String) -> Message {
            .error(ErrorMessage(requestID: request.requestID, code: code, message: text))
        }
        guard (1...OffloadInfer.maximumRows).contains(request.rows.count) else {
            return refuse(.badRequest, "1 to \(OffloadInfer.maximumRows) rows per offloaded request")
        }
        guard inFlight.take(deviceID, maximum: maximumInFlight) else {
            return refuse(
                .unavailable,
                "cloud inference busy: at most \(maximumInFlight) offloaded requests at once, one per device; retry"
            )
        }
        defer { inFlight.release(deviceID) }
        let rows = request.rows.count
        let allowed = rates.take(deviceID, requested: rows, perSecond: rowsPerSecondPerDevice, now: now())
        guard allowed == rows else {
            rates.giveBack(deviceID, allowed)
            return refuse(
                .unavailable,
                "cloud inference rate: at most \(rowsPerSecondPerDevice) rows a second per device; retry later"
            )
        }
        do {
            if let remaining = try await remaining(deviceID, request.model), remaining < request.rows.count {
                return refuse(
                    .conflict,
                    "quota exhausted: \(remaining) of \(request.model)'s granted queries left for \(request.rows.count) row(s)"
                )
            }
            guard let (version, mlp) = try await newest(request.model) else {
                return refuse(.notFound, "no version of \(request.model) that the coordinator can run (an MLP)")
            }
            let rows = request.rows.map { $0.map { Float($0) } }
            guard rows.allSatisfy({ $0.count == mlp.inputCount && $0.allSatisfy(\.isFinite) }) else {
                return refuse(.badRequest, "every row needs \(mlp.inputCount) finite features")
            }
            let predictions = try mlp.predict(rows: rows)
            return .offloadResult(
                OffloadResult(
                    requestID: request.requestID,
                    version: version,
                    predictions: predictions.map(\.label),
                    confidences: predictions.map { Double($0.confidence) }
                )
            )
        } catch {
            logger.error("offloaded inference failed", metadata: ["device": "\(deviceID)", "error": "\(error)"])
            return refuse(.unavailable, "cloud inference failed: \(error)")
        }
    }

    /// What the device's grants still allow as the coordinator sees them (receipts not synced yet are not counted,
    /// so this can only be more than the device's own count), or nil for a model that is not metered for it (no
    /// grant, not pushed `--metered`).
    private func remaining(_ deviceID: String, _ model: String) async throws -> Int? {
        let grants = try await store.quotaGrants(deviceID: deviceID).map(\.grant).filter { $0.model == model }
        let pushedMetered = try await store.modelVariants(model: model).contains { $0.metadata["metered"] == "true" }
        guard !grants.isEmpty || pushedMetered else { return nil }
        var drawn: [UInt64: UInt64] = [:]
        for receipt in try await store.usageReceipts(deviceID: deviceID, model: model) where receipt.kind != 1 {
            drawn[receipt.grantSequence, default: 0] += receipt.count
        }
        let balance = QuotaBalance(grants: grants, drawn: drawn, graceDrawn: [:], at: Date())
        return Int(clamping: balance.remaining)
    }

    /// The newest version's first variant that loads as an MLP.
    private func newest(_ model: String) async throws -> (Int, MLP)? {
        let variants = try await store.modelVariants(model: model)
        guard let newest = variants.map(\.version).max() else { return nil }
        for variant in variants where variant.version == newest {
            if let mlp = models.get(variant.sha256) { return (newest, mlp) }
            guard let data = FileManager.default.contents(atPath: blobs.absolute(variant.blobPath)),
                let (mlp, _) = try? ModelFile.mlp(Array(data))
            else { continue }
            models.set(variant.sha256, mlp)
            return (newest, mlp)
        }
        return nil
    }
}

/// Offloaded requests in flight: in all and per device.
final class OffloadSlots: Sendable {
    private let state = Mutex<(total: Int, devices: Set<String>)>((0, []))

    func take(_ deviceID: String, maximum: Int) -> Bool {
        state.withLock { state in
            guard state.total < maximum, !state.devices.contains(deviceID) else { return false }
            state.total += 1
            state.devices.insert(deviceID)
            return true
        }
    }

    func release(_ deviceID: String) {
        state.withLock { state in
            if state.devices.remove(deviceID) != nil { state.total -= 1 }
        }
    }
}

/// Parsed models by file digest, so that each offloaded request does not parse the file again.
final class LoadedMLPs: Sendable {
    private let cache = Mutex<[[UInt8]: MLP]>([:])

    func get(_ sha256: [UInt8]) -> MLP? { cache.withLock { $0[sha256] } }

    func set(_ sha256: [UInt8], _ mlp: MLP) {
        cache.withLock { cache in
            if cache.count >= 16 { cache.removeAll() }
            cache[sha256] = mlp
        }
    }
}
