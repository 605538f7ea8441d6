import FleetStore
import FleetTrust
import FleetWire
import Foundation
import NIOCore

/// Answers administration requests from `fleetctl`.
struct AdminRequests: Sendable {
    let store: CoordinatorStore
    let presence: PresenceTracker
    let models: ModelRegistry
    var features = FeatureHandlers()
    /// Devices per ``DeviceList`` page at most.
    static let pageLimit = 200

    func handle(_ message: Message, frameBudget: Int) async -> Message {
        guard let requestID = message.requestID else {
            return .error(ErrorMessage(code: .badRequest, message: "not a request"))
        }
        do {
            switch message {
            case .createToken(let request): return .tokenCreated(try await createToken(request))
            case .revokeToken(let request):
                guard try await store.revokeToken(id: request.tokenID, at: Date()) else {
                    throw ErrorMessage(
                        requestID: request.requestID,
                        code: .notFound,
                        message: "no token \(request.tokenID): `fleetctl token list` lists them"
                    )
                }
                return .ack(Ack(requestID: request.requestID))
            case .createAPIToken(let request): return .apiTokenCreated(try await createAPIToken(request))
            case .revokeAPIToken(let request): return .ack(try await revokeAPIToken(request))
            case .listDevices(let request): return .deviceList(try await listDevices(request, frameBudget: frameBudget))
            case .listEvents(let request): return .eventList(try await listEvents(request))
            case .listGateways(let request):
                return .gatewayList(try await listGateways(request, frameBudget: frameBudget))
            case .removeDevice(let request): return .deviceRemoved(try await removeDevice(request))
            case .uploadBegin(let request):
                let uploadID = try await models.uploads.begin(request)
                return .uploadReady(UploadReady(requestID: request.requestID, uploadID: uploadID, offset: 0))
            case .uploadChunk(let chunk):
                try await models.uploads.append(chunk)
                return .ack(Ack(requestID: chunk.requestID))
            case .uploadCommit(let commit):
                return .modelPushed(try await models.publish(commit))
            case .pinModel(let request):
                try await models.pin(request)
                return .ack(Ack(requestID: request.requestID))
            case .startRound, .initModel, .referenceStatistics, .grantQuota, .startRollout, .controlRollout,
                .holdVersion:
                if let reply = await features.handleAdmin(message, frameBudget: frameBudget) { return reply }
                return .error(
                    ErrorMessage(requestID: requestID, code: .badRequest, message: "\(message.type) is not served here")
                )
            default:
                return .error(ErrorMessage(requestID: requestID, code: .badRequest, message: "not an admin request"))
            }
        } catch let error as ErrorMessage {
            return .error(error)
        } catch {
            return .error(ErrorMessage(requestID: requestID, code: .internalError, message: "\(error)"))
        }
    }

    func createToken(_ request: CreateToken) async throws -> TokenCreated {
        let issued = IssuedSecret(prefix: "tft_", idPrefix: "t-", expiresInSeconds: request.expiresInSeconds)
        let record = try await store.createToken(
            NewEnrolmentToken(
                id: issued.id,
                secretHash: issued.hash,
                uses: request.uses,
                expiresAt: issued.expiresAt,
                labels: request.labels,
                createdAt: issued.now
            )
        )
        try await store.appendEvent(
            NewEvent(
                at: issued.now,
                deviceID: nil,
                kind: "token_created",
                detail: "\(record.id), \(request.uses) use(s)"
            )
        )
        return TokenCreated(
            requestID: request.requestID,
            tokenID: record.id,
            token: issued.secret,
            uses: record.usesTotal,
            expiresAtMilliseconds: issued.expiresAt.map(\.unixMilliseconds) ?? 0
        )
    }

    /// A page of devices that fits the connection's frame limit (at least one device per page).
    func listDevices(_ request: ListDevices, frameBudget: Int) async throws -> DeviceList {
        let all = try await store.devices()
        let candidates = all.dropFirst(request.offset).prefix(min(max(request.limit, 1), Self.pageLimit))
        var list = DeviceList(requestID: request.requestID, total: all.count, devices: [])
        var size = Message.deviceList(list).encodedFrame().readableBytes + 8
        for record in candidates {
            let summary = record.summary(online: presence.isOnline(record.id))
            let alone = Message.deviceList(DeviceList(requestID: 0, total: 0, devices: [summary])).encodedFrame()
            size += alone.readableBytes
            if size > frameBudget && !list.devices.isEmpty { break }
            list.devices.append(summary)
        }
        return list
    }

    /// Which gateway carries which device, a page at a time: at most `min(max(limit, 1), 1000)` entries, fewer to fit
    /// the frame, at least one when any remain.
    func listGateways(_ request: ListGateways, frameBudget: Int) async throws -> GatewayList {
        let all = try await store.deviceGateways()
        var list = GatewayList(requestID: request.requestID, total: all.count, entries: [])
        var size = Message.gatewayList(list).encodedFrame().readableBytes + 8
        for pair in all.dropFirst(request.offset).prefix(min(max(request.limit, 1), 1000)) {
            let entry = DeviceGateway(deviceID: pair.deviceID, gatewayID: pair.gatewayID)
            size += entry.deviceID.utf8.count + entry.gatewayID.utf8.count + 4
            if size > frameBudget && !list.entries.isEmpty { break }
            list.entries.append(entry)
        }
        return list
    }

    /// Removes a device (and with `erase` what the coordinator holds of it), then closes its open connections:
    /// its next `authenticate` is refused as an unknown device.
    func removeDevice(_ request: RemoveDevice) async throws -> DeviceRemoved {
        guard let removal = try await store.removeDevice(id: request.deviceID, erase: request.erase, at: Date()) else {
            throw ErrorMessage(
                requestID: request.requestID,
                code: .notFound,
                message: "no device \(request.deviceID): `fleetctl devices` lists the ids and names"
            )
        }
        models.connections.disconnect(
            request.deviceID,
            with: ErrorMessage(code: .unknownDevice, message: "this device was removed by the administrator")
        )
        return DeviceRemoved(
            requestID: request.requestID,
            deviceID: removal.deviceID,
            name: removal.name,
            erased: removal.erased,
            sampleRows: removal.sampleRows,
            driftReports: removal.driftReports,
            consentRecords: removal.consentRecords,
            otherRows: removal.otherRows
        )
    }

    func listEvents(_ request: ListEvents) async throws -> EventList {
        let events = try await store.events(
            deviceID: request.deviceID.isEmpty ? nil : request.deviceID,
            limit: min(max(request.limit, 1), 1000),
            afterSequence: request.afterSequence > 0 ? Int64(clamping: request.afterSequence) : nil
        )
        return EventList(requestID: request.requestID, events: events.map(\.summary))
    }
}

extension Date {
    var unixMilliseconds: UInt64 { UInt64(max(0, (timeIntervalSince1970 * 1000).rounded())) }
}

extension DeviceRecord {
    func summary(online: Bool) -> DeviceSummary {
        DeviceSummary(
            id: id,
            name: name,
            online: online,
            lastSeenMilliseconds: lastSeen?.unixMilliseconds ?? 0,
            enrolledAtMilliseconds: enrolledAt.unixMilliseconds,
            labels: labels,
            capabilities: capabilities,
            software: agentVersion,
            installedModels: installedModels.map {
                InstalledModel(name: $0.name, version: $0.version, variant: $0.variant, sha256: $0.sha256)
            }
        )
    }
}

extension EventRecord {
    var summary: EventSummary {
        EventSummary(
            sequence: UInt64(max(0, sequence)),
            atMilliseconds: at.unixMilliseconds,
            deviceID: deviceID ?? "",
            kind: kind,
            detail: detail
        )
    }
}
