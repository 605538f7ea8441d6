/// Local training settings for the reference SGD trainer.
public struct TrainingConfiguration: Sendable, Equatable, Codable {
    public var learningRate: Float
    public var batchSize: Int
    public var epochs: Int

    public init(learningRate: Float = 0.05, batchSize: Int = 32, epochs: Int = 1) {
        self.learningRate = learningRate
        self.batchSize = batchSize
        self.epochs = epochs
    }
}

/// What a local training run did.
public struct TrainingReport: Sendable, Equatable {
    /// Mean cross-entropy over each epoch's mini-batches (measured before each step).
    public var epochLosses: [Float]
    /// Rows in the local dataset (the weight FedAvg gives this client).
    public var sampleCount: Int
    /// SGD steps taken.
    public var steps: Int
}
