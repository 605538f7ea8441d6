/// The message type byte that follows a frame's length prefix. Values are fixed forever; see `Protocol/SPEC.md`.
public enum MessageType: UInt8, CaseIterable, Sendable, Codable {
    // Handshake and session
    case hello = 0x01
    case helloAccept = 0x02
    case enrol = 0x03
    case authenticate = 0x04
    case adminAuthenticate = 0x05
    case welcome = 0x06
    case error = 0x07
    case busy = 0x08
    // Keepalive and reported state
    case heartbeat = 0x10
    case heartbeatAck = 0x11
    case stateReport = 0x12
    case ack = 0x13
    case goodbye = 0x14
    // Administration
    case createToken = 0x20
    case tokenCreated = 0x21
    case listDevices = 0x22
    case deviceList = 0x23
    case listEvents = 0x24
    case eventList = 0x25
    case revokeToken = 0x26
    // HTTP admin API tokens
    case createAPIToken = 0x27
    case apiTokenCreated = 0x28
    case revokeAPIToken = 0x29
    case removeDevice = 0x2A
    case deviceRemoved = 0x2B
    // Model delivery
    case desiredState = 0x30
    case fetchModel = 0x31
    case transferStart = 0x32
    case transferChunk = 0x33
    case modelReport = 0x34
    // Model protection at rest
    case modelKeyRequest = 0x38
    case modelKey = 0x39
    // Model administration
    case uploadBegin = 0x40
    case uploadReady = 0x41
    case uploadChunk = 0x42
    case uploadCommit = 0x43
    case modelPushed = 0x44
    case pinModel = 0x45
    // Staged rollouts
    case startRollout = 0x46
    case rolloutStarted = 0x47
    case controlRollout = 0x48
    case holdVersion = 0x49
    // Federated learning
    case trainTask = 0x50
    case trainUpdate = 0x51
    case startRound = 0x52
    case roundStarted = 0x53
    case initModel = 0x54
    // Observability with privacy
    case consentUpdate = 0x60
    case sampleBatch = 0x61
    case driftReport = 0x62
    case referenceStatistics = 0x63
    // Rollout health
    case healthSummary = 0x64
    // Metering: quotas and the usage ledger
    case grantQuota = 0x70
    case quotaGranted = 0x71
    case quotaGrants = 0x72
    case quotaSync = 0x73
    case usageReport = 0x74
    case offloadInfer = 0x75
    case offloadResult = 0x76
    // Gateways and leaves
    case gatewayClaim = 0x80
    case listGateways = 0x81
    case gatewayList = 0x82
}
