import FleetWire

/// The model payloads a gateway has fetched for its leaves, by what a leaf asks for (model, version, variant and
/// the base it has): the first leaf's fetch goes to the coordinator, and every other leaf asking the same while it
/// runs or afterwards is served from memory. So N leaves behind one gateway cost one download per payload.
///
/// The coordinator does not see the fetches served from the cache: a leaf behind this gateway can get a payload
/// another leaf of the same gateway fetched. Payloads are not secret from the gateway's leaves (installs are
/// protected by the manifest signature, which each leaf checks).
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

    /// The cached payload, or the one `fetch` gets (once, however many leaves ask at the same time). A failed
    /// fetch is not cached: the next caller fetches again.
    func payload(for key: Key, fetch: @escaping @Sendable () async throws -> Payload) async throws -> Payload {
        for _ in 0..<3 {
            if let payload = ready[key] { return payload }
            if let running = loading[key] {
                if let payload = try? await running.value { return payload }
                continue
            }
            let task = Task { try await fetch() }
            loading[key] = task
            do {
                let payload = try await task.value
                loading[key] = nil
                store(payload, for: key)
                return payload
            } catch {
                loading[key] = nil
                throw error
            }
        }
        if let payload = ready[key] { return payload }
        return try await fetch()
    }

    private func store(_ payload: Payload, for key: Key) {
        downloads += 1
        ready[key] = payload
        order.append(key)
        if order.count > Self.capacity { ready[order.removeFirst()] = nil }
    }
}
