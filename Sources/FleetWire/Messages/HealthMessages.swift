import NIOCore

/// One model version's health over a summary's window (SPEC 5.41): counts only, never rows or predictions.
public struct HealthEntry: Sendable, Hashable, Codable {
    /// Upper bounds of the latency buckets in milliseconds; the last bucket is everything slower.
    public static let latencyBoundsMilliseconds = [1, 10, 100, 1000]
    /// Latency buckets: `latencyBoundsMilliseconds` and one more for slower requests.
    public static let latencyBuckets = 5
    /// Equal-width confidence bins over 0…1 (a confidence of exactly 1 counts in the last).
    public static let confidenceBins = 10
    /// The most a count may be.
    public static let maximumCount = Int(UInt32.max)

    public var model: String
    public var version: Int
    /// Rows the device was asked to infer (answered or failed).
    public var queries: Int
    /// Rows of inference requests that failed (bad rows, a model that cannot run).
    public var errors: Int
    /// Inference requests per latency bucket.
    public var latency: [Int]
    /// Answered rows per confidence bin.
    public var confidence: [Int]
    /// Earlier predictions whose true label the application reported (`feedback`, under `feedback` consent).
    public var labelled: Int
    /// Of those, the ones the model predicted right.
    public var correct: Int

    public init(
        model: String,
        version: Int,
        queries: Int = 0,
        errors: Int = 0,
        latency: [Int] = Array(repeating: 0, count: latencyBuckets),
        confidence: [Int] = Array(repeating: 0, count: confidenceBins),
        labelled: Int = 0,
        correct: Int = 0
    ) {
        self.model = model
        self.version = version
        self.queries = queries
        self.errors = errors
        self.latency = latency
        self.confidence = confidence
        self.labelled = labelled
        self.correct = correct
    }

    /// The bucket of a request that took `milliseconds`.
    public static func latencyBucket(milliseconds: Double) -> Int {
        latencyBoundsMilliseconds.firstIndex { milliseconds <= Double($0) } ?? latencyBoundsMilliseconds.count
    }

    /// The bin of `confidence` (clamped to 0…1; not finite counts in bin 0).
    public static func confidenceBin(_ confidence: Double) -> Int {
        guard confidence.isFinite else { return 0 }
        return min(confidenceBins - 1, max(0, Int(confidence * Double(confidenceBins))))
    }

    /// Whether nothing was counted.
    public var isEmpty: Bool { queries == 0 && labelled == 0 }

    /// Adds `other`'s counts (same model and version), each saturating at ``maximumCount``.
    public mutating func add(_ other: HealthEntry) {
        queries = Self.sum(queries, other.queries)
        errors = Self.sum(errors, other.errors)
        latency = zip(latency, other.latency).map(Self.sum)
        confidence = zip(confidence, other.confidence).map(Self.sum)
        labelled = Self.sum(labelled, other.labelled)
        correct = Self.sum(correct, other.correct)
    }

    /// `lhs + rhs`, at most ``maximumCount``.
    public static func sum(_ lhs: Int, _ rhs: Int) -> Int { min(maximumCount, lhs + rhs) }

    init(reading reader: inout WireReader) throws {
        model = try reader.readLengthPrefixedString("model")
        version = try reader.readBoundedInt("version")
        queries = try reader.readBoundedInt("queries", maximum: Self.maximumCount)
        errors = try reader.readBoundedInt("errors", maximum: Self.maximumCount)
        latency = try Self.readCounts(&reader, "latency", count: Self.latencyBuckets)
        confidence = try Self.readCounts(&reader, "confidence", count: Self.confidenceBins)
        labelled = try reader.readBoundedInt("labelled", maximum: Self.maximumCount)
        correct = try reader.readBoundedInt("correct", maximum: Self.maximumCount)
        guard errors <= queries else { throw FleetWireError.invalidValue("errors", "more than queries") }
        guard correct <= labelled else { throw FleetWireError.invalidValue("correct", "more than labelled") }
    }

    private static func readCounts(_ reader: inout WireReader, _ field: String, count: Int) throws -> [Int] {
        let counts = try reader.readList(field) { try $0.readBoundedInt(field, maximum: maximumCount) }
        guard counts.count == count else {
            throw FleetWireError.invalidValue(field, "\(counts.count) counts, expected \(count)")
        }
        return counts
    }

    func write(to buffer: inout ByteBuffer) {
        buffer.writeLengthPrefixedString(model)
        buffer.writeVarint(version)
        buffer.writeVarint(queries)
        buffer.writeVarint(errors)
        buffer.writeList(latency) { buffer, count in buffer.writeVarint(count) }
        buffer.writeList(confidence) { buffer, count in buffer.writeVarint(count) }
        buffer.writeVarint(labelled)
        buffer.writeVarint(correct)
    }
}

/// A device's health summary (device → coordinator, answered by ``Ack``): per installed model version, what the
/// local interface counted over the window, and how often the agent started since the last acknowledged summary
/// (a crash loop shows as many starts). The coordinator compares a rollout wave's summaries with its control
/// group's (SPEC 12.5).
public struct HealthSummary: WirePayload {
    public static let messageType = MessageType.healthSummary
    /// At most this many model versions per summary.
    public static let maximumEntries = 32
    /// The longest window a summary may cover: one day.
    public static let maximumWindowMilliseconds = 86_400_000
    /// The most starts one summary may report.
    public static let maximumStarts = 1_000_000

    public var requestID: UInt64
    /// How long the window lasted, ending when the summary was sent.
    public var windowMilliseconds: Int
    /// Agent starts since the last acknowledged summary (at least 1 in the first summary after a start).
    public var starts: Int
    public var entries: [HealthEntry]

    public init(requestID: UInt64, windowMilliseconds: Int, starts: Int, entries: [HealthEntry]) {
        self.requestID = requestID
        self.windowMilliseconds = windowMilliseconds
        self.starts = starts
        self.entries = entries
    }

    public init(reading reader: inout WireReader) throws {
        requestID = try reader.readVarint("requestID")
        windowMilliseconds = try reader.readBoundedInt("windowMilliseconds", maximum: Self.maximumWindowMilliseconds)
        starts = try reader.readBoundedInt("starts", maximum: Self.maximumStarts)
        let count = try reader.readCount("entries", minimumElementSize: 20)
        guard count <= Self.maximumEntries else {
            throw FleetWireError.invalidValue("entries", "\(count) exceeds \(Self.maximumEntries)")
        }
        entries = try (0..<count).map { _ in try HealthEntry(reading: &reader) }
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeVarint(requestID)
        buffer.writeVarint(windowMilliseconds)
        buffer.writeVarint(starts)
        buffer.writeList(entries) { buffer, entry in entry.write(to: &buffer) }
    }
}
