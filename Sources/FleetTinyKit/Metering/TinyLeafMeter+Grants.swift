/// The grant table (Protocol/METERING.md, "Balance"): which slot holds a grant that decodes, which grants stand and
/// count for a model, which slot a query draws on, and which slot a new grant may take.
extension TinyLeafMeter {
    /// The grant in `slot`, if the slot holds one that decodes.
    func grant(_ slot: Int) -> TinyQuotaGrant? {
        let region = slotRegion(slot)
        let length = Int(u16(region, 0))
        guard length > 0, length <= TinyQuotaGrant.maximumSize else { return nil }
        return try? TinyQuotaGrant(decoding: UnsafeRawBufferPointer(rebasing: region[2..<(2 + length)]))
    }

    /// Whether no verified revoke of a higher sequence cancels the grant in `slot` (METERING.md, Balance 1).
    func standing(_ slot: Int) -> Bool {
        guard let grant = grant(slot) else { return false }
        for other in 0..<grantCapacity where verifiedFlags[other] == 1 {
            guard let revoke = self.grant(other), revoke.isRevoke, revoke.sequence > grant.sequence,
                TinyBytes.equal(revoke.model, grant.model)
            else { continue }
            return false
        }
        return true
    }

    /// Whether the grant in `slot` counts for `model` at `now`: verified, standing, a grant, unexpired.
    func counts(_ slot: Int, model: UnsafeRawBufferPointer, at now: UInt64) -> Bool {
        guard verifiedFlags[slot] == 1, let grant = grant(slot), TinyBytes.equal(grant.model, model) else {
            return false
        }
        return grant.isValid(at: now) && standing(slot)
    }

    /// A free slot, else one the leaf may reuse: not drawn on by an unsynced entry, no longer able to answer, and
    /// not the last grant of its model (another slot, or the new grant, keeps that model metered).
    func freeSlot(for model: UnsafeRawBufferPointer) -> Int? {
        for slot in 0..<grantCapacity where grant(slot) == nil { return slot }
        // The last receipt's time: an expiry counts only once the meter has seen that time pass.
        let now = u64(state, 44)
        for slot in 0..<grantCapacity {
            guard let old = grant(slot), !isReferenced(slot) else { continue }
            var sameModel = TinyBytes.equal(old.model, model)
            var lowerOfModel = false
            for other in 0..<grantCapacity where other != slot {
                guard let grant = grant(other), TinyBytes.equal(grant.model, old.model) else { continue }
                sameModel = true
                lowerOfModel = lowerOfModel || grant.sequence < old.sequence
            }
            guard sameModel else { continue }
            let spent: Bool
            if verifiedFlags[slot] == 0 {
                spent = true
            } else if old.isRevoke {
                spent = !lowerOfModel
            } else {
                spent =
                    !standing(slot) || !old.isValid(at: now)
                    || (counter(slot, 0) >= old.queries && counter(slot, 1) >= old.offlineGrace)
            }
            if spent { return slot }
        }
        return nil
    }

    func isReferenced(_ slot: Int) -> Bool {
        for index in 0..<Int(state[2]) where Int(state[Self.headerSize + index * Self.entrySize]) == slot {
            return true
        }
        return false
    }

    /// The slot a query of `model` draws on at `now` within a grant: among the valid grants with queries left, the
    /// one that expires first, then the lowest sequence; nil when none has any left. Not inlined (nor
    /// ``graceSlot(model:)``): the grants they decode are off the stack before
    /// ``consume(model:version:online:monotonic:storage:)`` stores the counters (its frame was 1.7 KB with them).
    @inline(never)
    func quotaSlot(model: UnsafeRawBufferPointer, at now: UInt64) -> Int? {
        var chosen: Int? = nil
        var best: (UInt64, UInt64) = (.max, .max)
        for slot in 0..<grantCapacity where counts(slot, model: model, at: now) {
            guard let grant = grant(slot), counter(slot, 0) < grant.queries else { continue }
            let key = (grant.expiresAt ?? .max, grant.sequence)
            if key < best {
                best = key
                chosen = slot
            }
        }
        return chosen
    }

    /// Offline, the slot of the newest standing grant of `model` when its offline grace has queries left.
    @inline(never)
    func graceSlot(model: UnsafeRawBufferPointer) -> Int? {
        var newest: UInt64 = 0
        var chosen: Int? = nil
        for slot in 0..<grantCapacity where verifiedFlags[slot] == 1 && standing(slot) {
            guard let grant = grant(slot), !grant.isRevoke, TinyBytes.equal(grant.model, model),
                grant.sequence > newest
            else { continue }
            newest = grant.sequence
            chosen = slot
        }
        guard let chosen, let grant = grant(chosen), counter(chosen, 1) < grant.offlineGrace else { return nil }
        return chosen
    }
}
