import FleetStore
import FleetTrust
import FleetWire
import Foundation
import Logging
import Synchronization

/// Pay per query on the coordinator (`Protocol/METERING.md`, SPEC 15a): signs grants and revokes with the
/// release key and pushes them to connected devices; answers a device's `quotaSync`; verifies each usage
/// report against the device's stored chain, stores what verifies (with the price of the grant drawn on) and
/// raises `usage_tamper` events with the evidence for what does not.
struct QuotaService: DeviceMessageHandler, AdminMessageHandler {
    let store: CoordinatorStore
    let releaseKey: ReleaseKey
    let connections: ConnectionRegistry
    let logger: Logger
    var now: @Sendable () -> Date = { Date() }
    var volume = VolumeAlert()
    /// Devices alerted today (`device day`), so that one surge raises one alert.
    let alerted = AlertedDevices()

    func handle(_ message: Message, from deviceID: String) async -> Message? {
        switch message {
        case .quotaSync(let sync):
            do {
                let grants = try await store.quotaGrants(
                    deviceID: deviceID,
                    afterSequence: sync.afterSequence,
                    limit: QuotaGrants.maximumGrants
                )
                return .quotaGrants(QuotaGrants(requestID: sync.requestID, grants: try grants.map { try $0.encoded() }))
            } catch {
                logger.error("quota sync failed", metadata: ["device": "\(deviceID)", "error": "\(error)"])
                return .error(ErrorMessage(requestID: sync.requestID, code: .unavailable, message: "retry"))
            }
        case .usageReport(let report):
            do {
                return try await usage(report, deviceID: deviceID)
            } catch let error as ErrorMessage {
                return .error(error)
            } catch {
                logger.error("usage report failed", metadata: ["device": "\(deviceID)", "error": "\(error)"])
                return .error(
                    ErrorMessage(requestID: report.requestID, code: .unavailable, message: "not stored; retry")
                )
            }
        default:
            return nil
        }
    }

    func handleAdmin(_ message: Message, frameBudget: Int) async -> Message? {
        guard case .grantQuota(let request) = message else { return nil }
        do {
            return .quotaGranted(try await grant(request))
        } catch let error as ErrorMessage {
            return .error(error)
        } catch {
            logger.error("quota grant failed", metadata: ["error": "\(error)"])
            return .error(ErrorMessage(requestID: request.requestID, code: .internalError, message: "\(error)"))
        }
    }

    // MARK: grants

    private func grant(_ request: GrantQuota) async throws -> QuotaGranted {
        func refuse(_ code: ErrorCode, _ text: String) -> ErrorMessage {
            ErrorMessage(requestID: request.requestID, code: code, message: text)
        }
        guard ModelNameRule.isValid(request.model) else {
            throw refuse(.badRequest, ModelNameRule.explain(request.model))
        }
        guard request.device.isEmpty != request.selector.isEmpty else {
            throw refuse(.badRequest, "name one device, or a --selector, not both")
        }
        guard request.currency.utf8.count <= 8 else { throw refuse(.badRequest, "currency: at most 8 bytes") }
        let revoke = request.action == 1
        guard revoke || request.queries >= 1 else { throw refuse(.badRequest, "--queries must be at least 1") }
        let devices = try await store.devices().filter { device in
            request.device.isEmpty
                ? request.selector.allSatisfy { device.labels[$0.key] == $0.value }
                : device.id == request.device || device.name == request.device
        }
        guard !devices.isEmpty else {
            throw refuse(
                .notFound,
                request.device.isEmpty
                    ? "no device has the labels \(request.selector.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))"
                    : "no device \(request.device): `fleetctl devices` lists them"
            )
        }
        if !request.device.isEmpty, devices.count > 1, !devices.contains(where: { $0.id == request.device }) {
            throw refuse(
                .badRequest,
                "\(devices.count) devices are named \(request.device): name one by its id (`fleetctl devices`)"
            )
        }
        let chosen = devices.filter { request.device.isEmpty || devices.count == 1 || $0.id == request.device }
        if !revoke {
            for device in chosen {
                // One currency per device and model, so that its amounts add up.
                let standing = QuotaBalance(
                    grants: try await store.quotaGrants(deviceID: device.id).map(\.grant).filter {
                        $0.model == request.model
                    },
                    drawn: [:],
                    graceDrawn: [:],
                    at: now()
                ).standing
                if let other = standing.first(where: { $0.currency != request.currency }) {
                    throw refuse(
                        .conflict,
                        "\(device.name) holds grant #\(other.sequence) of \(request.model) in \"\(other.currency)\": "
                            + "grant in the same currency, or revoke first"
                    )
                }
            }
        }
        let instant = now()
        var granted: [[UInt8]] = []
        for device in chosen {
            let releaseKey = self.releaseKey
            let signed = try await store.addQuotaGrant(deviceID: device.id, model: request.model, at: instant) {
                sequence in
                try SignedQuotaGrant.sign(
                    QuotaGrant(
                        deviceID: device.id,
                        model: request.model,
                        sequence: sequence,
                        action: revoke ? .revoke : .grant,
                        queries: revoke ? 0 : request.queries,
                        issuedAt: instant,
                        expiresAt: revoke || request.expiresInSeconds == 0
                            ? nil : instant.addingTimeInterval(TimeInterval(request.expiresInSeconds)),
                        priceMicros: request.priceMicros,
                        currency: request.currency,
                        ratePerSecond: UInt64(request.ratePerSecond),
                        offlineGrace: UInt64(request.offlineGrace),
                        cloudPriceMicros: request.cloudPriceMicros
                    ),
                    with: releaseKey
                )
            }
            let bytes = try signed.encoded()
            granted.append(bytes)
            try await store.appendEvent(
                NewEvent(
                    at: instant,
                    deviceID: device.id,
                    kind: revoke ? "quota_revoked" : "quota_granted",
                    detail: revoke
                        ? "\(request.model): grants before #\(signed.grant.sequence) revoked"
                        : "\(request.model): #\(signed.grant.sequence), \(request.queries) queries"
                )
            )
            connections.send(.quotaGrants(QuotaGrants(requestID: 0, grants: [bytes])), to: device.id)
        }
        return QuotaGranted(requestID: request.requestID, grants: granted)
    }

    // MARK: usage

    private func usage(_ report: UsageReport, deviceID: String) async throws -> Message {
        func refuse(_ code: ErrorCode, _ text: String) -> ErrorMessage {
            ErrorMessage(requestID: report.requestID, code: code, message: text)
        }
        guard report.receipts.count <= UsageReport.maximumReceipts else {
            throw refuse(.badRequest, "at most \(UsageReport.maximumReceipts) receipts per report")
        }
        guard let device = try await store.device(id: deviceID) else { throw refuse(.notFound, "device not enrolled") }
        let instant = now()
        var head = try await store.usageHead(deviceID: deviceID)
        var accepted: [UsageReceiptRecord] = []
        var events: [NewEvent] = []
        var refusal: String?
        for bytes in report.receipts {
            let signed: SignedUsageReceipt
            let hash: [UInt8]
            do {
                signed = try SignedUsageReceipt(decoding: bytes)
                hash = try signed.hash()
            } catch {
                refusal = "receipt does not decode: \(error)"
                break
            }
            let position = signed.receipt.index
            let stored =
                try await
                (head.map { position <= $0.position } ?? false
                ? store.usageReceipt(deviceID: deviceID, position: position)?.hash : nil)
            switch UsageChainCheck.check(
                signed,
                hash: hash,
                deviceID: deviceID,
                publicKey: device.publicKey,
                head: head.map { ($0.position, $0.hash) },
                stored: stored
            ) {
            case .duplicate:
                continue
            case .refuse(let reason):
                refusal = reason
            case .append:
                let record = try await priced(signed, hash: hash, bytes: bytes, device: device, head: head, at: instant)
                for flag in record.flags {
                    events.append(
                        NewEvent(
                            at: instant,
                            deviceID: deviceID,
                            kind: "usage_tamper",
                            detail:
                                "\(flag): receipt \(position) (\(record.model), \(record.count) queries) \(evidence(flag, signed, head))"
                        )
                    )
                }
                accepted.append(record)
                head = record
            }
            if refusal != nil { break }
        }
        if let refusal {
            events.append(
                NewEvent(at: instant, deviceID: deviceID, kind: "usage_tamper", detail: "refused: \(refusal)")
            )
            logger.warning("usage report refused", metadata: ["device": "\(deviceID)", "reason": "\(refusal)"])
        }
        try await store.appendUsageReceipts(accepted, events: events)
        if !accepted.isEmpty { try await checkVolume(deviceID: deviceID, at: instant) }
        if let refusal { throw refuse(.conflict, "usage ledger refused: \(refusal)") }
        return .ack(Ack(requestID: report.requestID))
    }

    /// Raises a `usage_alert` event, once a day per device, when the device's queries today leave its history.
    private func checkVolume(deviceID: String, at instant: Date) async throws {
        let today = Int64((instant.timeIntervalSince1970 / 86_400).rounded(.down))
        guard !alerted.contains(deviceID, day: today) else { return }
        let daily = try await store.dailyUsage(deviceID: deviceID, sinceDay: today - volume.historyDays)
        guard let evidence = volume.check(daily: daily, today: today), alerted.insert(deviceID, day: today) else {
            return
        }
        logger.warning("query volume alert", metadata: ["device": "\(deviceID)", "evidence": "\(evidence)"])
        try await store.appendEvent(NewEvent(at: instant, deviceID: deviceID, kind: "usage_alert", detail: evidence))
    }

    /// The receipt as stored: priced with the grant it draws on, and flagged when that grant is not this device's
    /// for this model (replayed) or when its window starts before the previous one ended (clock moved back).
    private func priced(
        _ signed: SignedUsageReceipt,
        hash: [UInt8],
        bytes: [UInt8],
        device: DeviceRecord,
        head: UsageReceiptRecord?,
        at instant: Date
    ) async throws -> UsageReceiptRecord {
        let receipt = signed.receipt
        let grant = try await store.quotaGrant(sequence: receipt.grant)?.grant
        var flags: [String] = []
        if grant == nil || grant?.deviceID != device.id || grant?.model != receipt.model || grant?.action != .grant {
            flags.append("grant-replayed")
        }
        if let head, receipt.windowStart < head.windowEnd { flags.append("clock-backwards") }
        return UsageReceiptRecord(
            deviceID: device.id,
            position: receipt.index,
            hash: hash,
            model: receipt.model,
            grantSequence: receipt.grant,
            kind: receipt.kind.rawValue,
            count: receipt.count,
            priceMicros: (receipt.kind == .cloud ? grant?.cloudPriceMicros : grant?.priceMicros) ?? 0,
            currency: grant?.currency ?? "",
            windowStart: receipt.windowStart,
            windowEnd: receipt.windowEnd,
            receivedAt: instant,
            flags: flags,
            record: bytes
        )
    }

    private func evidence(_ flag: String, _ signed: SignedUsageReceipt, _ head: UsageReceiptRecord?) -> String {
        let receipt = signed.receipt
        switch flag {
        case "grant-replayed":
            return "draws on grant #\(receipt.grant), which is not this device's grant for \(receipt.model)"
        case "clock-backwards":
            let format = ISO8601DateFormatter()
            return "starts \(format.string(from: receipt.windowStart)), before the previous receipt's end "
                + (head.map { format.string(from: $0.windowEnd) } ?? "?")
        default: return ""
        }
    }
}

/// The devices already alerted on a day.
final class AlertedDevices: Sendable {
    private let keys = Mutex<Set<String>>([])

    func contains(_ deviceID: String, day: Int64) -> Bool { keys.withLock { $0.contains("\(deviceID) \(day)") } }

    /// False when it was already there.
    func insert(_ deviceID: String, day: Int64) -> Bool { keys.withLock { $0.insert("\(deviceID) \(day)").inserted } }
}
