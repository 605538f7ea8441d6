import NIOCore

/// Every message of TinyFleet protocol versions 1 and 2 (`busy` is new in version 2). The set is closed: an unknown type byte is an error.
public enum Message: Hashable, Sendable {
    case hello(Hello)
    case helloAccept(HelloAccept)
    case enrol(Enrol)
    case authenticate(Authenticate)
    case adminAuthenticate(AdminAuthenticate)
    case welcome(Welcome)
    case error(ErrorMessage)
    case busy(Busy)
    case heartbeat
    case heartbeatAck
    case stateReport(StateReport)
    case ack(Ack)
    case goodbye
    case createToken(CreateToken)
    case tokenCreated(TokenCreated)
    case listDevices(ListDevices)
    case deviceList(DeviceList)
    case listEvents(ListEvents)
    case eventList(EventList)
    case revokeToken(RevokeToken)
    case createAPIToken(CreateAPIToken)
    case apiTokenCreated(APITokenCreated)
    case revokeAPIToken(RevokeAPIToken)
    case removeDevice(RemoveDevice)
    case deviceRemoved(DeviceRemoved)
    case desiredState(DesiredState)
    case fetchModel(FetchModel)
    case transferStart(TransferStart)
    case transferChunk(TransferChunk)
    case modelReport(ModelReport)
    case modelKeyRequest(ModelKeyRequest)
    case modelKey(ModelKey)
    case uploadBegin(UploadBegin)
    case uploadReady(UploadReady)
    case uploadChunk(UploadChunk)
    case uploadCommit(UploadCommit)
    case modelPushed(ModelPushed)
    case pinModel(PinModel)
    case startRollout(StartRollout)
    case rolloutStarted(RolloutStarted)
    case controlRollout(ControlRollout)
    case holdVersion(HoldVersion)
    case trainTask(TrainTask)
    case trainUpdate(TrainUpdate)
    case startRound(StartRound)
    case roundStarted(RoundStarted)
    case initModel(InitModel)
    case consentUpdate(ConsentUpdate)
    case sampleBatch(SampleBatch)
    case driftReport(DriftReportMessage)
    case referenceStatistics(ReferenceStatisticsMessage)
    case healthSummary(HealthSummary)
    case gatewayClaim(GatewayClaim)
    case listGateways(ListGateways)
    case gatewayList(GatewayList)
    case grantQuota(GrantQuota)
    case quotaGranted(QuotaGranted)
    case quotaGrants(QuotaGrants)
    case quotaSync(QuotaSync)
    case usageReport(UsageReport)
    case offloadInfer(OffloadInfer)
    case offloadResult(OffloadResult)

    /// The payload as its protocol type.
    public var payload: any WirePayload {
        switch self {
        case .hello(let payload): payload
        case .helloAccept(let payload): payload
        case .enrol(let payload): payload
        case .authenticate(let payload): payload
        case .adminAuthenticate(let payload): payload
        case .welcome(let payload): payload
        case .error(let payload): payload
        case .busy(let payload): payload
        case .heartbeat: Heartbeat()
        case .heartbeatAck: HeartbeatAck()
        case .stateReport(let payload): payload
        case .ack(let payload): payload
        case .goodbye: Goodbye()
        case .createToken(let payload): payload
        case .tokenCreated(let payload): payload
        case .listDevices(let payload): payload
        case .deviceList(let payload): payload
        case .listEvents(let payload): payload
        case .eventList(let payload): payload
        case .revokeToken(let payload): payload
        case .createAPIToken(let payload): payload
        case .apiTokenCreated(let payload): payload
        case .revokeAPIToken(let payload): payload
        case .removeDevice(let payload): payload
        case .deviceRemoved(let payload): payload
        case .desiredState(let payload): payload
        case .fetchModel(let payload): payload
        case .transferStart(let payload): payload
        case .transferChunk(let payload): payload
        case .modelReport(let payload): payload
        case .modelKeyRequest(let payload): payload
        case .modelKey(let payload): payload
        case .uploadBegin(let payload): payload
        case .uploadReady(let payload): payload
        case .uploadChunk(let payload): payload
        case .uploadCommit(let payload): payload
        case .modelPushed(let payload): payload
        case .pinModel(let payload): payload
        case .startRollout(let payload): payload
        case .rolloutStarted(let payload): payload
        case .controlRollout(let payload): payload
        case .holdVersion(let payload): payload
        case .trainTask(let payload): payload
        case .trainUpdate(let payload): payload
        case .startRound(let payload): payload
        case .roundStarted(let payload): payload
        case .initModel(let payload): payload
        case .consentUpdate(let payload): payload
        case .sampleBatch(let payload): payload
        case .driftReport(let payload): payload
        case .referenceStatistics(let payload): payload
        case .healthSummary(let payload): payload
        case .gatewayClaim(let payload): payload
        case .listGateways(let payload): payload
        case .gatewayList(let payload): payload
        case .grantQuota(let payload): payload
        case .quotaGranted(let payload): payload
        case .quotaGrants(let payload): payload
        case .quotaSync(let payload): payload
        case .usageReport(let payload): payload
        case .offloadInfer(let payload): payload
        case .offloadResult(let payload): payload
        }
    }

    public var type: MessageType { Swift.type(of: payload).messageType }

    /// The request id for requests and their answers, nil for messages that have none.
    public var requestID: UInt64? {
        switch self {
        case .error(let m): m.requestID
        case .stateReport(let m): m.requestID
        case .ack(let m): m.requestID
        case .createToken(let m): m.requestID
        case .tokenCreated(let m): m.requestID
        case .listDevices(let m): m.requestID
        case .deviceList(let m): m.requestID
        case .listEvents(let m): m.requestID
        case .eventList(let m): m.requestID
        case .revokeToken(let m): m.requestID
        case .createAPIToken(let m): m.requestID
        case .apiTokenCreated(let m): m.requestID
        case .revokeAPIToken(let m): m.requestID
        case .removeDevice(let m): m.requestID
        case .deviceRemoved(let m): m.requestID
        case .fetchModel(let m): m.requestID
        case .transferStart(let m): m.requestID
        case .transferChunk(let m): m.requestID
        case .modelReport(let m): m.requestID
        case .modelKeyRequest(let m): m.requestID
        case .modelKey(let m): m.requestID
        case .uploadBegin(let m): m.requestID
        case .uploadReady(let m): m.requestID
        case .uploadChunk(let m): m.requestID
        case .uploadCommit(let m): m.requestID
        case .modelPushed(let m): m.requestID
        case .pinModel(let m): m.requestID
        case .startRollout(let m): m.requestID
        case .rolloutStarted(let m): m.requestID
        case .controlRollout(let m): m.requestID
        case .holdVersion(let m): m.requestID
        case .trainTask(let m): m.requestID
        case .trainUpdate(let m): m.requestID
        case .startRound(let m): m.requestID
        case .roundStarted(let m): m.requestID
        case .initModel(let m): m.requestID
        case .consentUpdate(let m): m.requestID
        case .sampleBatch(let m): m.requestID
        case .driftReport(let m): m.requestID
        case .referenceStatistics(let m): m.requestID
        case .healthSummary(let m): m.requestID
        case .listGateways(let m): m.requestID
        case .gatewayList(let m): m.requestID
        case .grantQuota(let m): m.requestID
        case .quotaGranted(let m): m.requestID
        case .quotaGrants(let m): m.requestID
        case .quotaSync(let m): m.requestID
        case .usageReport(let m): m.requestID
        case .offloadInfer(let m): m.requestID
        case .offloadResult(let m): m.requestID
        default: nil
        }
    }

    /// Decodes a message from a frame. The payload must be consumed exactly.
    public init(frame: Frame) throws {
        guard let type = MessageType(rawValue: frame.type) else {
            throw FleetWireError.unknownMessageType(frame.type)
        }
        var reader = WireReader(frame.payload)
        self = try Self.decode(type, &reader)
        try reader.expectEnd()
    }

    private static func decode(_ type: MessageType, _ reader: inout WireReader) throws -> Message {
        switch type {
        case .hello: .hello(try Hello(reading: &reader))
        case .helloAccept: .helloAccept(try HelloAccept(reading: &reader))
        case .enrol: .enrol(try Enrol(reading: &reader))
        case .authenticate: .authenticate(try Authenticate(reading: &reader))
        case .adminAuthenticate: .adminAuthenticate(try AdminAuthenticate(reading: &reader))
        case .welcome: .welcome(try Welcome(reading: &reader))
        case .error: .error(try ErrorMessage(reading: &reader))
        case .busy: .busy(try Busy(reading: &reader))
        case .heartbeat: .heartbeat
        case .heartbeatAck: .heartbeatAck
        case .stateReport: .stateReport(try StateReport(reading: &reader))
        case .ack: .ack(try Ack(reading: &reader))
        case .goodbye: .goodbye
        case .createToken: .createToken(try CreateToken(reading: &reader))
        case .tokenCreated: .tokenCreated(try TokenCreated(reading: &reader))
        case .listDevices: .listDevices(try ListDevices(reading: &reader))
        case .deviceList: .deviceList(try DeviceList(reading: &reader))
        case .listEvents: .listEvents(try ListEvents(reading: &reader))
        case .eventList: .eventList(try EventList(reading: &reader))
        case .revokeToken: .revokeToken(try RevokeToken(reading: &reader))
        case .createAPIToken: .createAPIToken(try CreateAPIToken(reading: &reader))
        case .apiTokenCreated: .apiTokenCreated(try APITokenCreated(reading: &reader))
        case .revokeAPIToken: .revokeAPIToken(try RevokeAPIToken(reading: &reader))
        case .removeDevice: .removeDevice(try RemoveDevice(reading: &reader))
        case .deviceRemoved: .deviceRemoved(try DeviceRemoved(reading: &reader))
        case .desiredState: .desiredState(try DesiredState(reading: &reader))
        case .fetchModel: .fetchModel(try FetchModel(reading: &reader))
        case .transferStart: .transferStart(try TransferStart(reading: &reader))
        case .transferChunk: .transferChunk(try TransferChunk(reading: &reader))
        case .modelReport: .modelReport(try ModelReport(reading: &reader))
        case .modelKeyRequest: .modelKeyRequest(try ModelKeyRequest(reading: &reader))
        case .modelKey: .modelKey(try ModelKey(reading: &reader))
        case .uploadBegin: .uploadBegin(try UploadBegin(reading: &reader))
        case .uploadReady: .uploadReady(try UploadReady(reading: &reader))
        case .uploadChunk: .uploadChunk(try UploadChunk(reading: &reader))
        case .uploadCommit: .uploadCommit(try UploadCommit(reading: &reader))
        case .modelPushed: .modelPushed(try ModelPushed(reading: &reader))
        case .pinModel: .pinModel(try PinModel(reading: &reader))
        case .startRollout: .startRollout(try StartRollout(reading: &reader))
        case .rolloutStarted: .rolloutStarted(try RolloutStarted(reading: &reader))
        case .controlRollout: .controlRollout(try ControlRollout(reading: &reader))
        case .holdVersion: .holdVersion(try HoldVersion(reading: &reader))
        case .trainTask: .trainTask(try TrainTask(reading: &reader))
        case .trainUpdate: .trainUpdate(try TrainUpdate(reading: &reader))
        case .startRound: .startRound(try StartRound(reading: &reader))
        case .roundStarted: .roundStarted(try RoundStarted(reading: &reader))
        case .initModel: .initModel(try InitModel(reading: &reader))
        case .consentUpdate: .consentUpdate(try ConsentUpdate(reading: &reader))
        case .sampleBatch: .sampleBatch(try SampleBatch(reading: &reader))
        case .driftReport: .driftReport(try DriftReportMessage(reading: &reader))
        case .referenceStatistics: .referenceStatistics(try ReferenceStatisticsMessage(reading: &reader))
        case .healthSummary: .healthSummary(try HealthSummary(reading: &reader))
        case .gatewayClaim: .gatewayClaim(try GatewayClaim(reading: &reader))
        case .listGateways: .listGateways(try ListGateways(reading: &reader))
        case .gatewayList: .gatewayList(try GatewayList(reading: &reader))
        case .grantQuota: .grantQuota(try GrantQuota(reading: &reader))
        case .quotaGranted: .quotaGranted(try QuotaGranted(reading: &reader))
        case .quotaGrants: .quotaGrants(try QuotaGrants(reading: &reader))
        case .quotaSync: .quotaSync(try QuotaSync(reading: &reader))
        case .usageReport: .usageReport(try UsageReport(reading: &reader))
        case .offloadInfer: .offloadInfer(try OffloadInfer(reading: &reader))
        case .offloadResult: .offloadResult(try OffloadResult(reading: &reader))
        }
    }

    /// Writes the whole frame: length prefix, type byte, payload.
    public func encodeFrame(into buffer: inout ByteBuffer) {
        let lengthIndex = buffer.writerIndex
        buffer.writeInteger(UInt32(0))
        buffer.writeInteger(type.rawValue)
        payload.write(to: &buffer)
        let length = buffer.writerIndex - lengthIndex - Frame.lengthPrefixSize
        buffer.setInteger(UInt32(truncatingIfNeeded: length), at: lengthIndex)
    }

    /// The whole frame as bytes.
    public func encodedFrame(allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 64)
        encodeFrame(into: &buffer)
        return buffer
    }
}
