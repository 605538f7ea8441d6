import ArgumentParser

/// The value formats every TinyFleet command line shares, parsed in one place.
public enum CommandLineValues {
    /// `500ms`, `30s`, `5m`, `1h`, `7d`, or plain seconds.
    public static func duration(_ text: String) throws -> Duration {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86_400)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            if let value = Double(text.dropLast(suffix.count)), value > 0 {
                return .milliseconds(Int64(value * scale * 1000))
            }
        }
        if let seconds = Double(text), seconds > 0 { return .milliseconds(Int64(seconds * 1000)) }
        throw ValidationError("invalid duration \"\(text)\": use e.g. 500ms, 30s, 5m, 24h, 7d")
    }

    /// `64KiB`, `1MiB`, `2GiB`, `500KB`, `1MB`, `1GB`, `512K`, or plain bytes.
    public static func byteCount(_ text: String) throws -> UInt64 {
        let units: [(String, UInt64)] = [
            ("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("KB", 1000), ("MB", 1_000_000),
            ("GB", 1_000_000_000), ("K", 1 << 10), ("M", 1 << 20), ("G", 1 << 30), ("B", 1),
        ]
        for (suffix, multiplier) in units where text.hasSuffix(suffix) {
            if let value = Double(text.dropLast(suffix.count)), value >= 0 { return UInt64(value * Double(multiplier)) }
        }
        if let value = UInt64(text) { return value }
        throw ValidationError("invalid size \"\(text)\": use e.g. 64KiB, 48MiB, 1GB")
    }

    /// A price as integer micro-units per query: `1.50/1000` (1.50 per 1,000 queries) or `0.0015` (per query), at
    /// most 6 decimals, no floating point. The price per query must be a whole number of micro-units.
    public static func priceMicros(_ text: String) throws -> UInt64 {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        let invalid = ValidationError("invalid price \"\(text)\": use e.g. 1.50/1000 (per 1,000 queries) or 0.0015")
        guard (1...2).contains(parts.count) else { throw invalid }
        let per = parts.count == 2 ? UInt64(parts[1]) : 1
        let amount = parts[0].split(separator: ".", omittingEmptySubsequences: false)
        guard let per, per >= 1, (1...2).contains(amount.count), let units = UInt64(amount[0]),
            amount.count == 1 || (amount[1].count <= 6 && amount[1].allSatisfy(\.isNumber) && !amount[1].isEmpty)
        else { throw invalid }
        let decimals = amount.count == 2 ? String(amount[1]) : ""
        let fraction = UInt64(decimals + String(repeating: "0", count: 6 - decimals.count)) ?? 0
        let (scaled, overflow) = units.multipliedReportingOverflow(by: 1_000_000)
        guard !overflow else { throw invalid }
        let total = scaled + fraction
        guard total % per == 0 else {
            throw ValidationError(
                "price \"\(text)\" is not a whole number of micro-units (0.000001) per query: choose another amount"
            )
        }
        return total / per
    }

    /// A rate `20/s` (or `20`) as queries per second.
    public static func ratePerSecond(_ text: String) throws -> Int {
        let number = text.hasSuffix("/s") ? String(text.dropLast(2)) : text
        guard let value = Int(number), value >= 1, value <= Int(Int32.max) else {
            throw ValidationError("invalid rate \"\(text)\": use e.g. 20/s")
        }
        return value
    }

    /// A percentage `2%` (or `2`, `0.5%`) from 0 to 100.
    public static func percentage(_ text: String, option: String) throws -> Double {
        let number = text.hasSuffix("%") ? String(text.dropLast()) : text
        guard let value = Double(number), value.isFinite, (0...100).contains(value) else {
            throw ValidationError("\(option) takes a percentage from 0% to 100%, e.g. 2%, not \"\(text)\"")
        }
        return value
    }

    /// Repeated `KEY=VALUE` options as a map.
    public static func pairs(_ items: [String], option: String) throws -> [String: String] {
        var pairs: [String: String] = [:]
        for item in items {
            guard let equals = item.firstIndex(of: "="), equals != item.startIndex else {
                throw ValidationError("\(option) takes KEY=VALUE, got \"\(item)\"")
            }
            pairs[String(item[..<equals])] = String(item[item.index(after: equals)...])
        }
        return pairs
    }
}

/// A failure while a command runs, as opposed to a usage error: ArgumentParser prints it as "Error: …" and exits
/// with status 1, without the usage text (status 64 and "Usage:" are for mistakes on the command line).
public struct CommandFailure: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
