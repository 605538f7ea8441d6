import NIOCore

/// Hyper-parameters of one round's local training.
public struct TrainingParameters: Hashable, Sendable, Codable {
    public var localEpochs: Int
    public var learningRate: Double
    public var batchSize: Int
    /// Seeds the device's shuffling, so a round can be replayed.
    public var seed: UInt64
    /// Upload an 8-bit quantised update (lossy, smaller) instead of a lossless delta.
    public var quantize: Bool

    public init(localEpochs: Int, learningRate: Double, batchSize: Int, seed: UInt64, quantize: Bool) {
        self.localEpochs = localEpochs
        self.learningRate = learningRate
        self.batchSize = batchSize
        self.seed = seed
        self.quantize = quantize
    }

    init(reading reader: inout WireReader) throws {
        localEpochs = try reader.readBoundedInt("localEpochs", maximum: 10_000)
        learningRate = try reader.readFloat64("learningRate")
        batchSize = try reader.readBoundedInt("batchSize", maximum: 1 << 20)
        seed = try reader.readVarint("seed")
        let flag = try reader.readByte("quantize")
        guard flag <= 1 else { throw FleetWireError.invalidValue("quantize", "\(flag)") }
        quantize = flag == 1
    }

    func write(to buffer: inout ByteBuffer) {
        buffer.writeVarint(localEpochs)
        buffer.writeFloat64(learningRate)
        buffer.writeVarint(batchSize)
        buffer.writeVarint(seed)
        buffer.writeInteger(quantize ? UInt8(1) : 0)
    }
}

/// The coordinator asks a device to train one round on its local data, starting from a model version the
/// device has installed. Answered by ``TrainUpdate`` with the same request id; a device that declines sends a
/// ``TrainUpdate`` with `sampleCount` 0 and the reason in its `declined` metric (devices cannot send `error`).
public struct TrainTask: WirePayload {
    public static let messageType = MessageType.trainTask
    public var requestID: UInt64
    public var round: Int
    public var model: String
    public var baseVersion: Int
    public var variant: String
    /// SHA-256 of the base weights file, which the update is computed against.
    public var baseSHA256: [UInt8]
    public var parameters: TrainingParameters
    /// Milliseconds the device has before the coordinator stops waiting.
    public var deadlineMilliseconds: Int
    /// Tensors the device keeps personal (not uploaded, fine-tuned locally), e.g. `fc3.`; empty for none.
    public var personalPrefix: String

    public init(
        requestID: UInt64,
        round: Int,
        model: String,
        baseVersion: Int,
        variant: String,
        baseSHA256: [UInt8],
        parameters: TrainingParameters,
        deadlineMilliseconds: Int,
        personalPrefix: String
    ) {
        self.requestID = requestID
        self.round = round
        self.model = model
        self.baseVersion = baseVersion
        self.variant = variant
        self.baseSHA256 = baseSHA256
        self.parameters = parameters
        self.deadlineMilliseconds = deadlineMilliseconds
        self.personalPrefix = personalPrefix
    }

    public init(reading reader: inout WireReader) throws {
        requestID = try reader.readVarint("requestID")
        round = try reader.readBoundedInt("round")
        model = try reader.readLengthPrefixedString("model")
        baseVersion = try reader.readBoundedInt("baseVersion")
        variant = try reader.readLengthPrefixedString("variant")
        baseSHA256 = try reader.readFixedBytes(32, "baseSHA256")
        parameters = try TrainingParameters(reading: &reader)
        deadlineMilliseconds = try reader.readBoundedInt("deadlineMilliseconds")
        personalPrefix = try reader.readLengthPrefixedString("personalPrefix")
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeVarint(requestID)
        buffer.writeVarint(round)
        buffer.writeLengthPrefixedString(model)
        buffer.writeVarint(baseVersion)
        buffer.writeLengthPrefixedString(variant)
        buffer.writeBytes(baseSHA256)
        parameters.write(to: &buffer)
        buffer.writeVarint(deadlineMilliseconds)
        buffer.writeLengthPrefixedString(personalPrefix)
    }
}

/// How a ``TrainUpdate`` carries the new weights.
public enum UpdateEncoding: UInt8, Hashable, Sendable, Codable {
    /// A FleetDelta patch turning the base file into the locally trained file (lossless).
    case delta = 0
    /// The update (trained − base) quantised to 8 bits per value with one scale per tensor (lossy).
    case quantized = 1
}

/// A device's result for a ``TrainTask``.
public struct TrainUpdate: WirePayload {
    public static let messageType = MessageType.trainUpdate
    public var requestID: UInt64
    public var round: Int
    /// Training examples used; FedAvg weights updates by it.
    public var sampleCount: Int
    /// e.g. `loss`, `accuracy-global`, `accuracy-personal` (as decimal strings).
    public var metrics: [String: String]
    public var encoding: UpdateEncoding
    public var payload: [UInt8]

    public init(
        requestID: UInt64,
        round: Int,
        sampleCount: Int,
        metrics: [String: String],
        encoding: UpdateEncoding,
        payload: [UInt8]
    ) {
        self.requestID = requestID
        self.round = round
        self.sampleCount = sampleCount
        self.metrics = metrics
        self.encoding = encoding
        self.payload = payload
    }

    public init(reading reader: inout WireReader) throws {
        requestID = try reader.readVarint("requestID")
        round = try reader.readBoundedInt("round")
        sampleCount = try reader.readBoundedInt("sampleCount")
        metrics = try reader.readStringMap("metrics")
        let raw = try reader.readByte("encoding")
        guard let encoding = UpdateEncoding(rawValue: raw) else {
            throw FleetWireError.invalidValue("encoding", "\(raw)")
        }
        self.encoding = encoding
        payload = try reader.readLengthPrefixedBytes("payload")
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeVarint(requestID)
        buffer.writeVarint(round)
        buffer.writeVarint(sampleCount)
        buffer.writeStringMap(metrics)
        buffer.writeInteger(encoding.rawValue)
        buffer.writeLengthPrefixedBytes(payload)
    }
}

/// Starts federated rounds (admin only). Answered by ``RoundStarted``.
public struct StartRound: WirePayload {
    public static let messageType = MessageType.startRound
    public var requestID: UInt64
    public var model: String
    public var variant: String
    public var clients: Int
    public var minimumClients: Int
    public var deadlineMilliseconds: Int
    public var parameters: TrainingParameters
    /// `fedavg`, `median`, `trimmed-mean`, optionally with `+clip` and `+adam`/`+momentum` (see the README).
    public var strategy: String
    /// Rounds to run back to back.
    public var rounds: Int
    /// Aggregate per `region` label first, then across regions.
    public var hierarchical: Bool
    public var personalPrefix: String
    /// Held-out rows (CSV: features, then `label`) to evaluate each published round; empty for none.
    public var evaluationCSV: [UInt8]

    public init(
        requestID: UInt64,
        model: String,
        variant: String,
        clients: Int,
        minimumClients: Int,
        deadlineMilliseconds: Int,
        parameters: TrainingParameters,
        strategy: String,
        rounds: Int,
        hierarchical: Bool,
        personalPrefix: String,
        evaluationCSV: [UInt8]
    ) {
        self.requestID = requestID
        self.model = model
        self.variant = variant
        self.clients = clients
        self.minimumClients = minimumClients
        self.deadlineMilliseconds = deadlineMilliseconds
        self.parameters = parameters
        self.strategy = strategy
        self.rounds = rounds
        self.hierarchical = hierarchical
        self.personalPrefix = personalPrefix
        self.evaluationCSV = evaluationCSV
    }

    public init(reading reader: inout WireReader) throws {
        requestID = try reader.readVarint("requestID")
        model = try reader.readLengthPrefixedString("model")
        variant = try reader.readLengthPrefixedString("variant")
        clients = try reader.readBoundedInt("clients", maximum: 1_000_000)
        minimumClients = try reader.readBoundedInt("minimumClients", maximum: 1_000_000)
        deadlineMilliseconds = try reader.readBoundedInt("deadlineMilliseconds")
        parameters = try TrainingParameters(reading: &reader)
        strategy = try reader.readLengthPrefixedString("strategy")
        rounds = try reader.readBoundedInt("rounds", maximum: 100_000)
        let flag = try reader.readByte("hierarchical")
        guard flag <= 1 else { throw FleetWireError.invalidValue("hierarchical", "\(flag)") }
        hierarchical = flag == 1
        personalPrefix = try reader.readLengthPrefixedString("personalPrefix")
        evaluationCSV = try reader.readLengthPrefixedBytes("evaluationCSV")
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeVarint(requestID)
        buffer.writeLengthPrefixedString(model)
        buffer.writeLengthPrefixedString(variant)
        buffer.writeVarint(clients)
        buffer.writeVarint(minimumClients)
        buffer.writeVarint(deadlineMilliseconds)
        parameters.write(to: &buffer)
        buffer.writeLengthPrefixedString(strategy)
        buffer.writeVarint(rounds)
        buffer.writeInteger(hierarchical ? UInt8(1) : 0)
        buffer.writeLengthPrefixedString(personalPrefix)
        buffer.writeLengthPrefixedBytes(evaluationCSV)
    }
}

/// The first round number of a ``StartRound``; the rounds run in the background.
public struct RoundStarted: WirePayload {
    public static let messageType = MessageType.roundStarted
    public var requestID: UInt64
    public var firstRound: Int
    public var rounds: Int

    public init(requestID: UInt64, firstRound: Int, rounds: Int) {
        self.requestID = requestID
        self.firstRound = firstRound
        self.rounds = rounds
    }

    public init(reading reader: inout WireReader) throws {
        requestID = try reader.readVarint("requestID")
        firstRound = try reader.readBoundedInt("firstRound")
        rounds = try reader.readBoundedInt("rounds")
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeVarint(requestID)
        buffer.writeVarint(firstRound)
        buffer.writeVarint(rounds)
    }
}

/// Publishes version 1 of a new model with a seeded random initialisation (admin only). Answered by ``ModelPushed``.
public struct InitModel: WirePayload {
    public static let messageType = MessageType.initModel
    public var requestID: UInt64
    public var model: String
    public var variant: String
    /// `mlp`.
    public var architecture: String
    /// Layer widths, input first, e.g. 64, 64, 10.
    public var layers: [Int]
    public var seed: UInt64
    /// Stored in the weights file, e.g. `feature-scale` (input scaling) and `accuracy`.
    public var metadata: [String: String]

    public init(
        requestID: UInt64,
        model: String,
        variant: String,
        architecture: String,
        layers: [Int],
        seed: UInt64,
        metadata: [String: String] = [:]
    ) {
        self.requestID = requestID
        self.model = model
        self.variant = variant
        self.architecture = architecture
        self.layers = layers
        self.seed = seed
        self.metadata = metadata
    }

    public init(reading reader: inout WireReader) throws {
        requestID = try reader.readVarint("requestID")
        model = try reader.readLengthPrefixedString("model")
        variant = try reader.readLengthPrefixedString("variant")
        architecture = try reader.readLengthPrefixedString("architecture")
        layers = try reader.readList("layers") { try $0.readBoundedInt("layer", maximum: 1 << 16) }
        seed = try reader.readVarint("seed")
        metadata = try reader.readStringMap("metadata")
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeVarint(requestID)
        buffer.writeLengthPrefixedString(model)
        buffer.writeLengthPrefixedString(variant)
        buffer.writeLengthPrefixedString(architecture)
        buffer.writeList(layers) { buffer, layer in buffer.writeVarint(layer) }
        buffer.writeVarint(seed)
        buffer.writeStringMap(metadata)
    }
}
