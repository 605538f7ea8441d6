import Foundation

/// Picks the variant a device should run: the most accurate one whose requirements its reported capabilities
/// meet (ties go to the smaller file), and says why in words an operator can act on.
///
/// A device keeps the variant it runs when that variant still fits and no other is more accurate by more than
/// ``switchMargin``: changing variant forfeits the delta (the new file shares nothing with the old one), so a
/// fraction of a point of accuracy is not worth a full download.
public struct VariantSelector: Sendable {
    /// Accuracy a different variant must gain before a device switches to it.
    public var switchMargin: Double = 0.01
    public struct Candidate: Sendable, Equatable {
        public var variant: String
        public var version: Int
        public var size: Int
        public var accuracy: Double?
        public var requirements: [String: String]

        public init(variant: String, version: Int, size: Int, accuracy: Double?, requirements: [String: String]) {
            self.variant = variant
            self.version = version
            self.size = size
            self.accuracy = accuracy
            self.requirements = requirements
        }
    }

    public struct Choice: Sendable, Equatable {
        /// Nil when no variant fits.
        public var candidate: Candidate?
        public var reason: String
    }

    public init() {}

    /// `labels` are the device's labels: a variant that requires a `region` fits only devices labelled with
    /// it, and is preferred over variants made for every region (it was trained for them).
    public func choose(
        from candidates: [Candidate],
        capabilities: [String: String],
        labels: [String: String] = [:],
        current: String? = nil
    ) -> Choice {
        var fitting: [Candidate] = []
        var misses: [String] = []
        for candidate in candidates {
            let unmet = unmetRequirements(candidate.requirements, capabilities, labels: labels)
            if unmet.isEmpty {
                fitting.append(candidate)
            } else {
                misses.append("\(candidate.variant) needs \(unmet.joined(separator: ", "))")
            }
        }
        let regional = fitting.filter { $0.requirements["region"] != nil }
        if !regional.isEmpty {
            let others = fitting.count - regional.count
            fitting = regional
            if others > 0 { misses.append("\(others) variant(s) for every region set aside for this region's own") }
        }
        guard
            let best = fitting.max(by: { lhs, rhs in
                let (left, right) = (lhs.accuracy ?? 0, rhs.accuracy ?? 0)
                return left != right ? left < right : lhs.size > rhs.size
            })
        else {
            return Choice(candidate: nil, reason: "no variant fits: " + misses.joined(separator: "; "))
        }
        if let current, current != best.variant, let kept = fitting.first(where: { $0.variant == current }),
            (best.accuracy ?? 0) - (kept.accuracy ?? 0) <= switchMargin
        {
            var reason = "\(kept.variant)"
            if let accuracy = kept.accuracy { reason += String(format: " (accuracy %.3f)", accuracy) }
            reason += ": the variant it runs, within \(Int(switchMargin * 100)) point(s) of \(best.variant)"
            if let accuracy = best.accuracy { reason += String(format: " (%.3f)", accuracy) }
            reason += ", so it keeps receiving deltas"
            if !misses.isEmpty { reason += "; " + misses.joined(separator: "; ") }
            return Choice(candidate: kept, reason: reason)
        }
        var reason = "\(best.variant)"
        if let accuracy = best.accuracy { reason += String(format: " (accuracy %.3f)", accuracy) }
        reason +=
            fitting.count > 1 ? ": most accurate of \(fitting.count) variants that fit" : ": the variant that fits"
        if !misses.isEmpty { reason += "; " + misses.joined(separator: "; ") }
        return Choice(candidate: best, reason: reason)
    }

    /// The requirements a device does not meet, phrased with both values.
    func unmetRequirements(
        _ requirements: [String: String],
        _ capabilities: [String: String],
        labels: [String: String] = [:]
    ) -> [String] {
        var unmet: [String] = []
        for (key, required) in requirements.sorted(by: { $0.key < $1.key }) {
            switch key {
            case "min-ram", "min-storage":
                let capability = key == "min-ram" ? "ram" : "storage"
                guard let need = UInt64(required) else { continue }
                let have = capabilities[capability].flatMap(UInt64.init)
                if have.map({ $0 < need }) ?? true {
                    unmet.append(
                        "\(capability) ≥ \(Self.bytes(need)) (device has \(have.map(Self.bytes) ?? "unknown"))"
                    )
                }
            case "arch":
                let allowed = required.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                let arch = capabilities["arch"] ?? "unknown"
                if !allowed.contains(arch) {
                    unmet.append("arch in \(allowed.joined(separator: "/")) (device is \(arch))")
                }
            case "region":
                if labels["region"] != required {
                    unmet.append("region \(required) (device is in \(labels["region"] ?? "no region"))")
                }
            case "accelerator":
                let have = capabilities["accelerator"] ?? "none"
                if required != "none" && required != have {
                    unmet.append("accelerator \(required) (device has \(have))")
                }
            default:
                continue
            }
        }
        return unmet
    }

    static func bytes(_ value: UInt64) -> String {
        let mib = Double(value) / 1_048_576
        return mib >= 1 ? String(format: "%.0f MiB", mib) : "\(value) B"
    }
}
