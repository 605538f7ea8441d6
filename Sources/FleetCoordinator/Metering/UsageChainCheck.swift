import FleetTrust

/// The coordinator's check of one receipt against the device's stored chain (`Protocol/METERING.md`,
/// "Verification"). Pure: the service fetches the head and any stored receipt at the same position first.
enum UsageChainCheck {
    enum Verdict: Equatable {
        /// The next receipt of the chain: store it.
        case append
        /// The very receipt already stored (sent again after a lost ack): nothing to do.
        case duplicate
        /// Tampering: refuse it and everything after it; `reason` is the evidence.
        case refuse(String)
    }

    static func check(
        _ signed: SignedUsageReceipt,
        hash: [UInt8],
        deviceID: String,
        publicKey: [UInt8],
        head: (position: UInt64, hash: [UInt8])?,
        stored: [UInt8]?
    ) -> Verdict {
        let receipt = signed.receipt
        guard receipt.deviceID == deviceID else {
            return .refuse("receipt \(receipt.index) names device \(receipt.deviceID), sent by \(deviceID)")
        }
        guard signed.isSigned(by: publicKey) else {
            return .refuse("wrong signer: receipt \(receipt.index) is not signed by \(deviceID)'s identity key")
        }
        if let stored {
            if stored == hash { return .duplicate }
            return .refuse(
                "rewind or fork at position \(receipt.index): stored receipt \(Digest.hex(stored.prefix(8))), "
                    + "received \(Digest.hex(hash.prefix(8))) (the device's ledger was reset or forked)"
            )
        }
        let expected = head.map { $0.position + 1 } ?? 0
        guard receipt.index == expected else {
            return .refuse("gap: expected receipt \(expected), received \(receipt.index) (receipts missing)")
        }
        let previous = head?.hash ?? UsageReceipt.genesis
        guard receipt.previous == previous else {
            return .refuse(
                "broken chain at \(receipt.index): previous hash \(Digest.hex(receipt.previous.prefix(8))) "
                    + "is not receipt \(expected == 0 ? "genesis" : "\(expected - 1)")'s \(Digest.hex(previous.prefix(8)))"
            )
        }
        return .append
    }
}
