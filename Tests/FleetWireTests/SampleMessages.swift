import FleetWire

/// One representative message per type, with every field set. These are the golden vectors' sources.
enum SampleMessages {
    static let nonce: [UInt8] = Array(0..<32)
    static let publicKey: [UInt8] = Array(repeating: 0xA1, count: 32)
    static let signature: [UInt8] = Array(repeating: 0x5E, count: 64)
    static let sha: [UInt8] = Array(repeating: 0xC3, count: 32)
    static let params = TrainingParameters(localEpochs: 10, learningRate: 0.1, batchSize: 16, seed: 42, quantize: false)
    static let model = InstalledModel(name: "digits-mlp", version: 2, variant: "int8", sha256: sha)

    static let all: [String: Message] = [
        "hello": .hello(Hello(role: .device, software: "fleet-agent/0.1.0", maximumFrameLength: 1_048_576)),
        "helloAccept": .helloAccept(
            HelloAccept(
                version: 2,
                maximumFrameLength: 1_048_576,
                heartbeatIntervalMilliseconds: 10_000,
                offlineTimeoutMilliseconds: 30_000,
                nonce: nonce,
                serverTimeMilliseconds: 1_795_000_000_000
            )
        ),
        "enrol": .enrol(
            Enrol(
                token: "tft_0123456789abcdef",
                publicKey: publicKey,
                signature: signature,
                name: "cam-01",
                labels: ["region": "eu", "site": "lyon"],
                capabilities: ["arch": "aarch64", "ram": "536870912"],
                software: "fleet-agent/0.1.0"
            )
        ),
        "authenticate": .authenticate(Authenticate(deviceID: "d-0011223344556677", nonce: nonce, signature: signature)),
        "adminAuthenticate": .adminAuthenticate(AdminAuthenticate(nonce: nonce, proof: sha)),
        "welcome": .welcome(
            Welcome(deviceID: "d-0011223344556677", labels: ["region": "eu"], releasePublicKey: publicKey)
        ),
        "error": .error(ErrorMessage(requestID: 7, code: .tokenUsed, message: "token already used")),
        "busy": .busy(Busy(retryAfterMilliseconds: 1000, message: "retry 1")),
        "heartbeat": .heartbeat,
        "heartbeatAck": .heartbeatAck,
        "goodbye": .goodbye,
        "revokeToken": .revokeToken(RevokeToken(requestID: 4, tokenID: "t-0a1b2c3d")),
        "createAPIToken": .createAPIToken(CreateAPIToken(requestID: 5, scope: .read, expiresInSeconds: 2_592_000)),
        "apiTokenCreated": .apiTokenCreated(
            APITokenCreated(
                requestID: 5,
                tokenID: "a-1c2d3e4f",
                token: "tfa_secret",
                scope: .read,
                expiresAtMilliseconds: 1_797_678_400_000
            )
        ),
        "revokeAPIToken": .revokeAPIToken(RevokeAPIToken(requestID: 6, tokenID: "a-1c2d3e4f")),
        "stateReport": .stateReport(
            StateReport(
                requestID: 1,
                software: "fleet-agent/0.1.0",
                capabilities: ["accelerator": "none", "arch": "x86_64", "ram": "1073741824"],
                installedModels: [model]
            )
        ),
        "ack": .ack(Ack(requestID: 1)),
        "createToken": .createToken(
            CreateToken(requestID: 3, uses: 5, expiresInSeconds: 86_400, labels: ["region": "us"])
        ),
        "tokenCreated": .tokenCreated(
            TokenCreated(
                requestID: 3,
                tokenID: "t-9f86d081",
                token: "tft_secret",
                uses: 5,
                expiresAtMilliseconds: 1_795_086_400_000
            )
        ),
        "listDevices": .listDevices(ListDevices(requestID: 4, offset: 0, limit: 500)),
        "deviceList": .deviceList(
            DeviceList(
                requestID: 4,
                total: 1,
                devices: [
                    DeviceSummary(
                        id: "d-0011223344556677",
                        name: "cam-01",
                        online: true,
                        lastSeenMilliseconds: 1_795_000_000_000,
                        enrolledAtMilliseconds: 1_794_000_000_000,
                        labels: ["region": "eu"],
                        capabilities: ["arch": "aarch64"],
                        software: "fleet-agent/0.1.0",
                        installedModels: [model]
                    )
                ]
            )
        ),
        "listEvents": .listEvents(
            ListEvents(requestID: 5, deviceID: "d-0011223344556677", limit: 100, afterSequence: 0)
        ),
        "removeDevice": .removeDevice(RemoveDevice(requestID: 15, deviceID: "d-0011223344556677", erase: true)),
        "deviceRemoved": .deviceRemoved(
            DeviceRemoved(
                requestID: 15,
                deviceID: "d-0011223344556677",
                name: "cam-07",
                erased: true,
                sampleRows: 25,
                driftReports: 3,
                consentRecords: 2,
                otherRows: 9
            )
        ),
        "eventList": .eventList(
            EventList(
                requestID: 5,
                events: [
                    EventSummary(
                        sequence: 1,
                        atMilliseconds: 1_795_000_000_000,
                        deviceID: "d-0011223344556677",
                        kind: "enrolled",
                        detail: "token t-9f86d081"
                    )
                ]
            )
        ),
        "desiredState": .desiredState(
            DesiredState(models: [
                DesiredModel(model: "digits-mlp", manifest: [1, 2, 3, 4], reason: "int8: fits ram 48 MiB"),
                DesiredModel(model: "kws", manifest: [], reason: "no variant fits: needs ram 256 MiB"),
            ])
        ),
        "fetchModel": .fetchModel(
            FetchModel(
                requestID: 9,
                model: "digits-mlp",
                version: 2,
                variant: "int8",
                baseSHA256: sha,
                resumePayloadSHA256: [],
                resumeOffset: 0
            )
        ),
        "transferStart": .transferStart(
            TransferStart(
                requestID: 9,
                encoding: .delta,
                baseVersion: 1,
                totalBytes: 15_596,
                payloadSHA256: sha,
                offset: 0
            )
        ),
        "transferChunk": .transferChunk(TransferChunk(requestID: 9, offset: 16_384, bytes: [0xDE, 0xAD, 0xBE, 0xEF])),
        "modelReport": .modelReport(
            ModelReport(
                requestID: 10,
                model: "digits-mlp",
                version: 2,
                variant: "int8",
                outcome: .installed,
                code: "",
                detail: "installed",
                encoding: .delta,
                wireBytes: 15_596,
                resumedFrom: 0,
                reportID: 7
            )
        ),
        "modelKeyRequest": .modelKeyRequest(ModelKeyRequest(requestID: 3)),
        "modelKey": .modelKey(ModelKey(requestID: 3, key: (0..<32).map { UInt8(0xA0 + $0) })),
        "gatewayClaim": .gatewayClaim(
            GatewayClaim(
                gatewayID: "d-8899aabbccddeeff",
                nonce: Array(0..<32),
                signature: [UInt8](repeating: 0x6B, count: 64)
            )
        ),
        "listGateways": .listGateways(ListGateways(requestID: 14, offset: 0, limit: 200)),
        "gatewayList": .gatewayList(
            GatewayList(
                requestID: 14,
                total: 2,
                entries: [
                    DeviceGateway(deviceID: "d-0011223344556677", gatewayID: "d-8899aabbccddeeff"),
                    DeviceGateway(deviceID: "d-1122334455667788", gatewayID: "d-8899aabbccddeeff"),
                ]
            )
        ),
        "uploadBegin": .uploadBegin(
            UploadBegin(
                requestID: 11,
                model: "digits-mlp",
                version: 2,
                variant: "fp32",
                size: 203_872,
                sha256: sha,
                requirements: ["min-ram": "134217728"],
                metadata: ["accuracy": "0.980"]
            )
        ),
        "uploadReady": .uploadReady(UploadReady(requestID: 11, uploadID: "u-1a2b3c4d", offset: 0)),
        "uploadChunk": .uploadChunk(UploadChunk(requestID: 12, uploadID: "u-1a2b3c4d", offset: 0, bytes: [1, 2, 3])),
        "uploadCommit": .uploadCommit(
            UploadCommit(requestID: 13, uploadID: "u-1a2b3c4d", referenceStatistics: [7, 8, 9])
        ),
        "modelPushed": .modelPushed(
            ModelPushed(requestID: 13, model: "digits-mlp", version: 2, variant: "fp32", assignedDevices: 3)
        ),
        "pinModel": .pinModel(PinModel(requestID: 14, model: "digits-mlp", deviceID: "d-0011223344556677", version: 1)),
        "startRollout": .startRollout(
            StartRollout(
                requestID: 15,
                model: "digits-mlp",
                version: 2,
                variant: "int8",
                selector: ["region": "eu"],
                waves: [10, 50, 100],
                soakMilliseconds: 600_000,
                minimumDevicesPerWave: 3,
                maximumInstallFailurePercent: 2.5,
                autoRollback: true,
                seed: 42,
                maximumErrorRateIncrease: 1,
                maximumAccuracyDrop: 2,
                maximumConfidenceDrop: 0.05,
                maximumDriftPSI: -1,
                gateMinimumDevices: 3,
                gateMinimumQueries: 50
            )
        ),
        // The same with the optional trailing group (SPEC 5.28a fields 18-20): the crash-loop and latency gates and
        // the device timeout. "startRollout" above is the layout without it, which must decode as before.
        "startRolloutRestartsLatencyTimeout": .startRollout(
            StartRollout(
                requestID: 18,
                model: "digits-mlp",
                version: 3,
                waves: [50, 100],
                soakMilliseconds: 60_000,
                minimumDevicesPerWave: 3,
                maximumInstallFailurePercent: 10,
                autoRollback: false,
                seed: 7,
                maximumErrorRateIncrease: 1,
                maximumAccuracyDrop: -1,
                maximumConfidenceDrop: 0.05,
                maximumDriftPSI: 0.25,
                gateMinimumDevices: 3,
                gateMinimumQueries: 50,
                maximumRestartIncrease: 3,
                maximumLatencyIncreasePercent: 50,
                deviceTimeoutMilliseconds: 3_600_000
            )
        ),
        "rolloutStarted": .rolloutStarted(RolloutStarted(requestID: 15, rolloutID: 1, devices: 20, waves: 3, seed: 42)),
        "controlRollout": .controlRollout(ControlRollout(requestID: 16, rolloutID: 1, action: .promote)),
        "holdVersion": .holdVersion(HoldVersion(requestID: 17, model: "digits-mlp", version: 2)),
        "trainTask": .trainTask(
            TrainTask(
                requestID: 20,
                round: 7,
                model: "digits-mlp",
                baseVersion: 7,
                variant: "fp32",
                baseSHA256: sha,
                parameters: params,
                deadlineMilliseconds: 60_000,
                personalPrefix: ""
            )
        ),
        "trainUpdate": .trainUpdate(
            TrainUpdate(
                requestID: 20,
                round: 7,
                sampleCount: 73,
                metrics: ["accuracy": "0.91", "loss": "0.31"],
                encoding: .delta,
                payload: [0x54, 0x46, 0x44, 1]
            )
        ),
        "startRound": .startRound(
            StartRound(
                requestID: 21,
                model: "digits-mlp",
                variant: "fp32",
                clients: 10,
                minimumClients: 8,
                deadlineMilliseconds: 60_000,
                parameters: params,
                strategy: "fedavg",
                rounds: 30,
                hierarchical: false,
                personalPrefix: "",
                evaluationCSV: Array("p0,label\n0.5,3\n".utf8)
            )
        ),
        "roundStarted": .roundStarted(RoundStarted(requestID: 21, firstRound: 1, rounds: 30)),
        "initModel": .initModel(
            InitModel(
                requestID: 22,
                model: "digits-mlp",
                variant: "fp32",
                architecture: "mlp",
                layers: [64, 64, 10],
                seed: 7,
                metadata: ["feature-scale": "0.0625"]
            )
        ),
        "consentUpdate": .consentUpdate(ConsentUpdate(requestID: 23, record: [9, 8, 7])),
        "sampleBatch": .sampleBatch(
            SampleBatch(
                requestID: 24,
                idempotencyKey: "d-0011223344556677/17",
                model: "digits-mlp",
                count: 2,
                compressedCSV: [0x78, 0x9C]
            )
        ),
        "driftReport": .driftReport(
            DriftReportMessage(requestID: 25, model: "digits-mlp", version: 2, summary: [1, 2, 3])
        ),
        "healthSummary": .healthSummary(
            HealthSummary(
                requestID: 28,
                windowMilliseconds: 5000,
                starts: 1,
                entries: [
                    HealthEntry(
                        model: "digits-mlp",
                        version: 2,
                        queries: 200,
                        errors: 3,
                        latency: [150, 40, 9, 1, 0],
                        confidence: [0, 0, 1, 2, 3, 5, 13, 21, 55, 97],
                        labelled: 120,
                        correct: 111
                    )
                ]
            )
        ),
        "referenceStatistics": .referenceStatistics(
            ReferenceStatisticsMessage(requestID: 26, model: "digits-mlp", version: 2, statistics: [4, 5, 6])
        ),
        "grantQuota": .grantQuota(
            GrantQuota(
                requestID: 27,
                device: "kitchen-cam",
                selector: [:],
                model: "digits-mlp",
                action: 0,
                queries: 100,
                expiresInSeconds: 2_592_000,
                priceMicros: 1500,
                currency: "USD",
                ratePerSecond: 20,
                offlineGrace: 10,
                cloudPriceMicros: 5000
            )
        ),
        "quotaGranted": .quotaGranted(QuotaGranted(requestID: 27, grants: [[1, 2, 3], [4]])),
        "quotaGrants": .quotaGrants(QuotaGrants(requestID: 0, grants: [[5, 6]])),
        "quotaSync": .quotaSync(QuotaSync(requestID: 28, afterSequence: 300)),
        "usageReport": .usageReport(UsageReport(requestID: 29, receipts: [[7, 8], [9]])),
        "offloadInfer": .offloadInfer(OffloadInfer(requestID: 30, model: "digits-mlp", rows: [[0.5, 1], [0.25, 0]])),
        "offloadResult": .offloadResult(
            OffloadResult(requestID: 30, version: 3, predictions: [7, 1], confidences: [0.5, 0.75])
        ),
    ]
}
