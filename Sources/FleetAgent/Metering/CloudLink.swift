import FleetWire
import Synchronization

/// Hybrid inference from the device (SPEC 15a.6): sends `offloadInfer` on the current session and waits for its
/// answer. Shared by the session (a feature that sees the link come and go and the answers arrive) and the local
/// socket (which asks). Without a session the request fails at once: the coordinator is out of reach.
public final class CloudLink: AgentFeature, Sendable {
    private struct State {
        var link: AgentLink?
        var waiting: [UInt64: CheckedContinuation<OffloadResult, any Error>] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    /// Runs `model` on `rows` on the coordinator.
    public func infer(model: String, rows: [[Float]]) async throws -> OffloadResult {
        guard let link = state.withLock({ $0.link }) else {
            throw LocalRequestError("cloud-unavailable", "the coordinator is out of reach: no offloaded inference")
        }
        let id = link.nextRequestID()
        return try await withCheckedThrowingContinuation { continuation in
            state.withLock { $0.waiting[id] = continuation }
            Task {
                do {
                    try await link.send(
                        .offloadInfer(OffloadInfer(requestID: id, model: model, rows: rows.map { $0.map(Double.init) }))
                    )
                } catch {
                    self.resume(id, with: .failure(Self.sendFailure(error)))
                }
            }
        }
    }

    /// What the application is told when the request could not be sent. A frame over the agreed limit is a refusal
    /// (retrying will not help); anything else means the connection closed under the request (the session
    /// reconnects): `cloud-unavailable`, which an `offload: auto` query answers here instead.
    static func sendFailure(_ error: any Error) -> LocalRequestError {
        switch error {
        case let error as LocalRequestError: error
        case let error as FrameTooLarge: LocalRequestError("cloud-refused", error.description)
        default:
            LocalRequestError(
                "cloud-unavailable",
                "the connection to the coordinator closed before the rows were sent (\(error)); retry"
            )
        }
    }

    public func connected(_ link: AgentLink) async throws {
        state.withLock { $0.link = link }
    }

    public func tick(_ link: AgentLink) async throws {}

    public func disconnected() async {
        let waiting = state.withLock { state in
            state.link = nil
            defer { state.waiting = [:] }
            return state.waiting
        }
        for continuation in waiting.values {
            continuation.resume(
                throwing: LocalRequestError("cloud-unavailable", "the connection to the coordinator ended; retry")
            )
        }
    }

    public func handle(_ message: Message, _ link: AgentLink) async throws -> Bool {
        switch message {
        case .offloadResult(let result):
            return resume(result.requestID, with: .success(result))
        case .error(let error) where error.requestID != 0:
            let code = error.code == .unavailable ? "cloud-busy" : "cloud-refused"
            return resume(error.requestID, with: .failure(LocalRequestError(code, error.message)))
        default:
            return false
        }
    }

    @discardableResult
    private func resume(_ id: UInt64, with result: Result<OffloadResult, any Error>) -> Bool {
        guard let continuation = state.withLock({ $0.waiting.removeValue(forKey: id) }) else { return false }
        continuation.resume(with: result)
        return true
    }
}
