/// A JSON form of messages, used by the golden vectors in `Protocol/vectors/` and by debugging tools.
/// It is not used on the wire. Byte arrays appear as arrays of numbers.
extension Message: Codable {
    private enum CodingKeys: String, CodingKey {
        case type
        case fields
    }

    private struct Empty: Codable {}

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode("\(type)", forKey: .type)
        switch self {
        case .heartbeat, .heartbeatAck, .goodbye: try container.encode(Empty(), forKey: .fields)
        default: try payload.encode(to: container.superEncoder(forKey: .fields))
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let name = try container.decode(String.self, forKey: .type)
        guard let type = MessageType.allCases.first(where: { "\($0)" == name }) else {
            throw DecodingError.dataCorruptedError(
                forKey: .type,
                in: container,
                debugDescription: "unknown type \(name)"
            )
        }
        func fields<P: WirePayload>(_: P.Type) throws -> P {
            try P(from: container.superDecoder(forKey: .fields))
        }
        switch type {
        case .hello: self = .hello(try fields(Hello.self))
        case .helloAccept: self = .helloAccept(try fields(HelloAccept.self))
        case .enrol: self = .enrol(try fields(Enrol.self))
        case .authenticate: self = .authenticate(try fields(Authenticate.self))
        case .adminAuthenticate: self = .adminAuthenticate(try fields(AdminAuthenticate.self))
        case .welcome: self = .welcome(try fields(Welcome.self))
        case .error: self = .error(try fields(ErrorMessage.self))
        case .busy: self = .busy(try fields(Busy.self))
        case .heartbeat: self = .heartbeat
        case .heartbeatAck: self = .heartbeatAck
        case .stateReport: self = .stateReport(try fields(StateReport.self))
        case .ack: self = .ack(try fields(Ack.self))
        case .goodbye: self = .goodbye
        case .createToken: self = .createToken(try fields(CreateToken.self))
        case .tokenCreated: self = .tokenCreated(try fields(TokenCreated.self))
        case .listDevices: self = .listDevices(try fields(ListDevices.self))
        case .deviceList: self = .deviceList(try fields(DeviceList.self))
        case .listEvents: self = .listEvents(try fields(ListEvents.self))
        case .eventList: self = .eventList(try fields(EventList.self))
        case .revokeToken: self = .revokeToken(try fields(RevokeToken.self))
        case .createAPIToken: self = .createAPIToken(try fields(CreateAPIToken.self))
        case .apiTokenCreated: self = .apiTokenCreated(try fields(APITokenCreated.self))
        case .revokeAPIToken: self = .revokeAPIToken(try fields(RevokeAPIToken.self))
        case .removeDevice: self = .removeDevice(try fields(RemoveDevice.self))
        case .deviceRemoved: self = .deviceRemoved(try fields(DeviceRemoved.self))
        case .desiredState: self = .desiredState(try fields(DesiredState.self))
        case .fetchModel: self = .fetchModel(try fields(FetchModel.self))
        case .transferStart: self = .transferStart(try fields(TransferStart.self))
        case .transferChunk: self = .transferChunk(try fields(TransferChunk.self))
        case .modelReport: self = .modelReport(try fields(ModelReport.self))
        case .modelKeyRequest: self = .modelKeyRequest(try fields(ModelKeyRequest.self))
        case .modelKey: self = .modelKey(try fields(ModelKey.self))
        case .uploadBegin: self = .uploadBegin(try fields(UploadBegin.self))
        case .uploadReady: self = .uploadReady(try fields(UploadReady.self))
        case .uploadChunk: self = .uploadChunk(try fields(UploadChunk.self))
        case .uploadCommit: self = .uploadCommit(try fields(UploadCommit.self))
        case .modelPushed: self = .modelPushed(try fields(ModelPushed.self))
        case .pinModel: self = .pinModel(try fields(PinModel.self))
        case .startRollout: self = .startRollout(try fields(StartRollout.self))
        case .rolloutStarted: self = .rolloutStarted(try fields(RolloutStarted.self))
        case .controlRollout: self = .controlRollout(try fields(ControlRollout.self))
        case .holdVersion: self = .holdVersion(try fields(HoldVersion.self))
        case .trainTask: self = .trainTask(try fields(TrainTask.self))
        case .trainUpdate: self = .trainUpdate(try fields(TrainUpdate.self))
        case .startRound: self = .startRound(try fields(StartRound.self))
        case .roundStarted: self = .roundStarted(try fields(RoundStarted.self))
        case .initModel: self = .initModel(try fields(InitModel.self))
        case .consentUpdate: self = .consentUpdate(try fields(ConsentUpdate.self))
        case .sampleBatch: self = .sampleBatch(try fields(SampleBatch.self))
        case .driftReport: self = .driftReport(try fields(DriftReportMessage.self))
        case .referenceStatistics: self = .referenceStatistics(try fields(ReferenceStatisticsMessage.self))
        case .healthSummary: self = .healthSummary(try fields(HealthSummary.self))
        case .gatewayClaim: self = .gatewayClaim(try fields(GatewayClaim.self))
        case .listGateways: self = .listGateways(try fields(ListGateways.self))
        case .gatewayList: self = .gatewayList(try fields(GatewayList.self))
        case .grantQuota: self = .grantQuota(try fields(GrantQuota.self))
        case .quotaGranted: self = .quotaGranted(try fields(QuotaGranted.self))
        case .quotaGrants: self = .quotaGrants(try fields(QuotaGrants.self))
        case .quotaSync: self = .quotaSync(try fields(QuotaSync.self))
        case .usageReport: self = .usageReport(try fields(UsageReport.self))
        case .offloadInfer: self = .offloadInfer(try fields(OffloadInfer.self))
        case .offloadResult: self = .offloadResult(try fields(OffloadResult.self))
        }
    }
}
