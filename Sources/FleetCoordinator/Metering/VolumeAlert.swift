import Foundation

/// The model-extraction alarm (`Protocol/METERING.md`, "Volume alert"): a device whose queries today exceed
/// `multiple` × the median of its daily queries over the previous 7 days (counting only days with queries, at least
/// `minimumDays` of them) is behaving unlike itself, as a device whose owner is harvesting predictions to clone the
/// model would.
struct VolumeAlert: Sendable {
    var multiple: UInt64 = 5
    var historyDays: Int64 = 7
    var minimumDays = 3

    /// The evidence when `today`'s total leaves the device's history, nil otherwise.
    func check(daily: [Int64: UInt64], today: Int64) -> String? {
        let history = ((today - historyDays)..<today).compactMap { daily[$0] }.filter { $0 > 0 }.sorted()
        guard history.count >= minimumDays, let current = daily[today] else { return nil }
        let middle = history.count / 2
        // The median of an even count is the mean of the middle two, rounded up (integers only).
        let median = history.count % 2 == 1 ? history[middle] : (history[middle - 1] + history[middle] + 1) / 2
        guard median > 0, current > multiple * median else { return nil }
        return "\(current) queries today, over \(multiple)× the median of \(median) a day over the previous "
            + "\(historyDays) days (days with queries: \(history.map(String.init).joined(separator: ", ")))"
    }
}
