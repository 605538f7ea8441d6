import Foundation

/// Dates are stored as INTEGER milliseconds since the Unix epoch, in every table.
///
/// Milliseconds round-trip exactly (a `Date` read back and stored again gives the same integer), and
/// comparisons in SQL are exact. Dates handed to a store are rounded to the millisecond; the records a
/// store returns carry the rounded value, the same as a later read.
enum StoredDate {
    static func milliseconds(_ date: Date) -> Int64 {
        let value = (date.timeIntervalSince1970 * 1000).rounded()
        // Out-of-range dates (distantFuture is fine: about 3.2e13 ms) clamp instead of trapping.
        guard value > Double(Int64.min), value < Double(Int64.max) else {
            return value < 0 ? Int64.min : Int64.max
        }
        return Int64(value)
    }

    static func date(_ milliseconds: Int64) -> Date {
        Date(timeIntervalSince1970: Double(milliseconds) / 1000)
    }

    /// The date as it will read back from the database.
    static func rounded(_ date: Date) -> Date {
        self.date(milliseconds(date))
    }
}
