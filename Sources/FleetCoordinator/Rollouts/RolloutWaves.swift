import FleetLearning

/// How a rollout splits its eligible devices into waves: pure, so that a recorded seed reproduces the membership.
public enum RolloutWaves {
    /// Why a wave list is refused.
    public struct InvalidWaves: Error, CustomStringConvertible {
        public let description: String
    }

    /// Checks cumulative percentages: 1 to 100 waves, each 1 to 100, strictly increasing, the last 100.
    public static func validate(_ percentages: [Int]) throws(InvalidWaves) {
        guard (1...100).contains(percentages.count) else {
            throw InvalidWaves(description: "--waves takes 1 to 100 percentages, e.g. 1,10,50,100")
        }
        guard percentages.allSatisfy({ (1...100).contains($0) }),
            zip(percentages, percentages.dropFirst()).allSatisfy({ $0 < $1 })
        else {
            throw InvalidWaves(description: "--waves takes increasing percentages from 1 to 100, e.g. 1,10,50,100")
        }
        guard percentages.last == 100 else {
            throw InvalidWaves(description: "the last wave must be 100 (every eligible device), e.g. 1,10,50,100")
        }
    }

    /// Each wave's size: wave i reaches `percentages[i]` % of `eligible` devices in total (rounded half up), with at
    /// least `minimum` new devices per wave while devices remain. Waves left without devices have size 0; the sizes
    /// add up to `eligible`.
    public static func sizes(percentages: [Int], eligible: Int, minimum: Int) -> [Int] {
        var sizes: [Int] = []
        var reached = 0
        for percent in percentages {
            let target = (eligible * percent * 2 + 100) / 200
            let total = min(eligible, max(target, reached + max(minimum, 1)))
            sizes.append(total - reached)
            reached = total
        }
        if let last = sizes.indices.last { sizes[last] += eligible - reached }
        return sizes
    }

    /// The devices of each wave: `devices` in a seeded random order (``SeededGenerator``'s Fisher–Yates over the ids
    /// sorted first, so the order they were given in does not matter), cut into `sizes`. Each device is in one wave.
    public static func members(devices: [String], sizes: [Int], seed: UInt64) -> [[String]] {
        var order = Array(Set(devices)).sorted()
        var generator = SeededGenerator(seed: seed)
        generator.shuffle(&order)
        var waves: [[String]] = []
        var start = 0
        for size in sizes {
            let end = min(order.count, start + size)
            waves.append(Array(order[start..<end]))
            start = end
        }
        return waves
    }
}
