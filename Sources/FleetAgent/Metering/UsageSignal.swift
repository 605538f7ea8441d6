/// Tells the session's metering (``QuotaFeature``) that the local socket recorded usage receipts, so they are sent
/// at once instead of the ledger being polled. One per agent process, shared by ``LocalSocketService`` and
/// ``AgentService`` as the keyring is. Receipts recorded by another process (`fleet-agent infer --local`) go at the
/// next heartbeat, as does anything recorded while no session is up (then at connection).
public final class UsageSignal: Sendable {
    private let stream: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation

    public init() {
        // One pending notification is enough: a send takes every unsynced receipt.
        (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// New receipts are in the ledger.
    func recorded() { continuation.yield() }

    /// Each time receipts were recorded since the last element was taken; one consumer.
    var notifications: AsyncStream<Void> { stream }
}
