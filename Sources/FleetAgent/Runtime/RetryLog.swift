import FleetClient
import Foundation
import Logging

/// How the agent reports a failed connection before it retries: the first failures at `info` (a coordinator
/// restart is routine), then every failure at `warning` with its reason, so an agent that cannot reach its
/// coordinator says so where operators look.
enum RetryLog {
    /// Consecutive failures after which each retry is logged as a warning.
    static let warningAfter = 3

    static func log(_ logger: Logger, attempt: Int, reason: String?, delay: Duration, address: CoordinatorAddress) {
        let seconds = Double(delay.components.seconds) + Double(delay.components.attoseconds) / 1e18
        let metadata: Logger.Metadata = [
            "reason": "\(reason ?? "the session ended")", "attempt": "\(attempt)",
            "in": "\(String(format: "%.1f", seconds))s",
        ]
        if attempt >= warningAfter {
            logger.warning(
                "no session with the coordinator at \(address) after \(attempt) attempts; retrying",
                metadata: metadata
            )
        } else {
            logger.info("reconnecting", metadata: metadata)
        }
    }
}
