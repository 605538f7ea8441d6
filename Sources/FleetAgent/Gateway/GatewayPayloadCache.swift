import FleetWire

/// The model payloads a gateway has fetched for its leaves, by what a leaf asks for (model, version, variant and
/// the base it has): the first leaf's fetch downloads the payload from the coordinator, and every other leaf asking
/// the same while it runs or afterwards gets it from memory. So N leaves behind one gateway cost one download per
/// payload.
///
/// The cache does not decide who may have a payload: the coordinator does. ``payload(for:fetch:)`` says whether the
/// payload came from the caller's own fetch; when it did not, ``LeafRelaySession`` first asks the coordinator on
/// that leaf's own connection (a fetch resumed at the payload's last byte), and serves only what the coordinator
/// answers that leaf (SPEC 15b.4).
actor GatewayPayloadCache {
    struct Key: Hashable, Sendable {
        var model: String
        var version: Int
        var variant: String
        var baseSHA256: [UInt8]

        init(_ request: FetchModel) {
            model = request.model
            version = request.version
            variant = request.variant
            baseSHA256 = request.baseSHA256
        }
    }

    struct Payload: Sendable {
        var encoding: TransferEncoding
        var baseVersion: Int
        var sha256: [UInt8]
        var bytes: [UInt8]
    }

    /// Payloads larger than this are not fetched for leaves (a microcontroller's flash is a few MiB at most).
    static let maximumPayloadSize = 16 << 20
    /// How many payloads are kept (the oldest is dropped first).
    static let capacity = 8

    private var ready: [Key: Payload] = [:]
    private var order: [Key] = []
    private var loading: [Key: Task<Payload, any Error>] = [:]
    /// Payloads fetched from the coordinator so far (for the log and tests).
    private(set) var downloads = 0

    /// The cached payload, or the one `fetch` gets (once, however many leaves ask at the same time), and whether
    /// it is the one this caller's `fetch` got. A failed fetch is not cached: the next caller fetches again.
    func payload(
        for key: Key,
        fetch: @escaping @Sendable () async throws -> Payload
    ) async throws -> (payload: Payload, fetchedHere: Bool) {
        for _ in 0..<3 {
            if let payload = ready[key] { return (payload, false) }
            if let running = loading[key] {
                if let payload = try? await running.value { return (payload, false) }
                continue
            }
            let task = Task { try await fetch() }
            loading[key] = task
            do {
                let payload = try await task.value
                loading[key] = nil
                store(payload, for: key)
                return (payload, true)
            } catch {
                loading[key] = nil
                throw error
            }
        }
        if let payload = ready[key] { return (payload, false) }
        return (try await fetch(), true)
    }

    private func store(_ payload: Payload, for key: Key) {
        downloads += 1
        ready[key] = payload
        order.append(key)
        if order.count > Self.capacity { ready[order.removeFirst()] = nil }
    }
}
