/// The grant's rate limit (Protocol/METERING.md, Balance 6): one token bucket per metered model, kept in the meter's
/// buffer (RAM only).
extension TinyLeafMeter {
    /// The rate bucket kept at `slot` (RAM only, like the reference agent's per process).
    @inline(__always)
    func bucket(_ slot: Int) -> UnsafeMutableRawBufferPointer {
        let start =
            2 * Self.stateSize(grants: grantCapacity) + grantCapacity * (Self.slotSize + 1) + slot * Self.bucketSize
        return UnsafeMutableRawBufferPointer(rebasing: buffer[start..<(start + Self.bucketSize)])
    }

    /// What the rate limit decided for one query: no limit, a token taken from the bucket at a slot, or refused.
    enum RateToken: Equatable {
        case unlimited
        case taken(slot: Int)
        case refused
    }

    /// Takes one token from `model`'s bucket (Protocol/METERING.md, Balance 6: the newest standing grant's
    /// `ratePerSecond` tokens, refilled at that rate a second, full at first). The bucket lives at the lowest slot
    /// naming the model; milli-tokens keep the arithmetic exact in integers.
    func takeToken(model: UnsafeRawBufferPointer, monotonic: UInt64) -> RateToken {
        var home = -1
        var newest: UInt64 = 0
        var rate: UInt64 = 0
        for slot in 0..<grantCapacity {
            guard let grant = grant(slot), TinyBytes.equal(grant.model, model) else { continue }
            if home < 0 { home = slot }
            guard verifiedFlags[slot] == 1, !grant.isRevoke, standing(slot), grant.sequence > newest else { continue }
            newest = grant.sequence
            rate = grant.ratePerSecond
        }
        guard rate > 0, home >= 0 else { return .unlimited }
        let region = bucket(home)
        let capacity = rate > UInt64.max / 1000 ? UInt64.max : rate * 1000
        var tokens = capacity
        let started = u64(region, 8)
        if started > 0 {
            // A second refills the bucket: a longer pause adds nothing more (and cannot overflow).
            let elapsed = min(monotonic &- (started - 1), 1000)
            let refill = elapsed.multipliedReportingOverflow(by: rate)
            tokens = refill.overflow ? capacity : min(capacity, u64(region, 0) &+ min(refill.partialValue, capacity))
        }
        setU64(region, 8, monotonic &+ 1)
        guard tokens >= 1000 else {
            setU64(region, 0, tokens)
            return .refused
        }
        setU64(region, 0, tokens - 1000)
        return .taken(slot: home)
    }

    /// Returns the token of a query the quota then refused (as the reference agent does).
    func giveBack(_ token: RateToken) {
        guard case .taken(let slot) = token else { return }
        let region = bucket(slot)
        setU64(region, 0, u64(region, 0) &+ 1000)
    }
}
