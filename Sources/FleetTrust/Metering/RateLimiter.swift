import Foundation
import Synchronization

/// Token buckets by key: at most N a second, with a burst of N. In memory, per process. The agent keys them by
/// model (a grant's `--rate N/s`, METERING.md "Balance" 6); the coordinator by device (offloaded rows, SPEC 15a.6).
public final class RateLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var at: Date
    }

    private let buckets = Mutex<[String: Bucket]>([:])

    public init() {}

    /// How many of `requested` may go now for `key` (all of them when `perSecond` is 0).
    public func take(_ key: String, requested: Int, perSecond: UInt64, now: Date) -> Int {
        guard perSecond > 0 else { return requested }
        let capacity = Double(perSecond)
        return buckets.withLock { buckets in
            var bucket = buckets[key] ?? Bucket(tokens: capacity, at: now)
            bucket.tokens = min(capacity, bucket.tokens + max(0, now.timeIntervalSince(bucket.at)) * capacity)
            bucket.at = now
            let granted = min(requested, Int(bucket.tokens.rounded(.down)))
            bucket.tokens -= Double(granted)
            buckets[key] = bucket
            return granted
        }
    }

    /// Returns tokens taken for what was then refused for another reason.
    public func giveBack(_ key: String, _ count: Int) {
        buckets.withLock { buckets in buckets[key]?.tokens += Double(count) }
    }
}
