import FleetCoordinator
import FleetStore
import FleetTrust
import Foundation

/// One device and model as `fleetctl usage --json` prints it (the fields of issue 11).
public struct UsageView: Codable, Sendable, Equatable {
    public var device: String
    public var name: String
    public var model: String
    /// Answered queries in the period (offline grace included; offloaded ones would be too).
    public var queries: UInt64
    /// Of them, queries the coordinator answered for the device (offloaded, at the grant's cloud price).
    public var cloudQueries: UInt64
    /// Queries of the grants valid now, and what they still allow.
    public var granted: UInt64
    public var remaining: UInt64
    /// Amount in currency units (a number, e.g. 0.15), and exactly, in micro-units.
    public var amount: Double
    public var amountMicros: UInt64
    public var currency: String
    public var lastReceiptAt: String?
    /// Flags the coordinator raised on this device's receipts (`grant-replayed`, `clock-backwards`).
    public var flags: [String]
}

/// Filters of `fleetctl usage`.
public struct UsageFilter: Sendable {
    public var device: String?
    public var model: String?
    public var since: Date?
    public var until: Date?

    public init(device: String? = nil, model: String? = nil, since: Date? = nil, until: Date? = nil) {
        self.device = device
        self.model = model
        self.since = since
        self.until = until
    }
}

extension FleetInspector {
    /// Usage per device and model, from the coordinator's verified ledgers and grants.
    public func usage(_ filter: UsageFilter = UsageFilter(), now: Date = Date()) async throws -> [UsageView] {
        let store = try await requireLocalStore("usage")
        let devices = try await store.devices()
        let deviceID = filter.device.map { wanted in devices.first { $0.name == wanted }?.id ?? wanted }
        let receipts = try await store.usageReceipts(
            deviceID: deviceID,
            model: filter.model,
            since: filter.since,
            until: filter.until
        )
        let allReceipts = try await store.usageReceipts(deviceID: deviceID, model: filter.model)
        let grants = try await store.quotaGrants().map(\.grant).filter { grant in
            (deviceID == nil || grant.deviceID == deviceID) && (filter.model == nil || grant.model == filter.model)
        }
        struct Key: Hashable, Comparable {
            var device: String
            var model: String
            static func < (a: Key, b: Key) -> Bool { (a.device, a.model) < (b.device, b.model) }
        }
        let keys = Set(grants.map { Key(device: $0.deviceID, model: $0.model) })
            .union(receipts.map { Key(device: $0.deviceID, model: $0.model) })
        return keys.sorted().map { key in
            let mine = receipts.filter { $0.deviceID == key.device && $0.model == key.model }
            let ledger = allReceipts.filter { $0.deviceID == key.device && $0.model == key.model }
            var drawn: [UInt64: UInt64] = [:]
            var grace: [UInt64: UInt64] = [:]
            for receipt in ledger {
                if receipt.kind == 1 {
                    grace[receipt.grantSequence, default: 0] += receipt.count
                } else {
                    drawn[receipt.grantSequence, default: 0] += receipt.count
                }
            }
            let balance = QuotaBalance(
                grants: grants.filter { $0.deviceID == key.device && $0.model == key.model },
                drawn: drawn,
                graceDrawn: grace,
                at: now
            )
            let micros = mine.reduce(UInt64(0)) { $0 + $1.amountMicros }
            return UsageView(
                device: key.device,
                name: devices.first { $0.id == key.device }?.name ?? "",
                model: key.model,
                queries: mine.reduce(0) { $0 + $1.count },
                cloudQueries: mine.filter { $0.kind == 2 }.reduce(0) { $0 + $1.count },
                granted: balance.granted,
                remaining: balance.remaining,
                amount: Money.units(micros: micros),
                amountMicros: micros,
                currency: mine.last?.currency ?? balance.newest?.currency ?? "",
                lastReceiptAt: ledger.last.map { ISO8601.string($0.receivedAt) },
                flags: Array(Set(ledger.flatMap(\.flags))).sorted()
            )
        }
    }

    /// `fleetctl usage export --format csv --period YYYY-MM`: one line per device, model and day (UTC) of the
    /// month, amounts exact in currency units with six decimals; their sum is `usage --json`'s amount.
    public func usageCSV(period: String) async throws -> String {
        let (start, end) = try Self.month(period)
        let store = try await requireLocalStore("usage export")
        let names = Dictionary(try await store.devices().map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
        let receipts = try await store.usageReceipts(since: start, until: end)
        struct Line: Hashable, Comparable {
            var day: String
            var device: String
            var model: String
            var currency: String
            static func < (a: Line, b: Line) -> Bool {
                (a.day, a.device, a.model, a.currency) < (b.day, b.device, b.model, b.currency)
            }
        }
        var totals: [Line: (queries: UInt64, cloud: UInt64, micros: UInt64)] = [:]
        let day = Date.ISO8601FormatStyle().year().month().day()
        for receipt in receipts {
            let line = Line(
                day: receipt.windowEnd.formatted(day),
                device: receipt.deviceID,
                model: receipt.model,
                currency: receipt.currency
            )
            totals[line, default: (0, 0, 0)].queries += receipt.count
            totals[line, default: (0, 0, 0)].cloud += receipt.kind == 2 ? receipt.count : 0
            totals[line, default: (0, 0, 0)].micros += receipt.amountMicros
        }
        var text = "date,device,name,model,queries,cloudQueries,amount,currency\n"
        for line in totals.keys.sorted() {
            let total = totals[line] ?? (0, 0, 0)
            let fields = [
                line.day, line.device, names[line.device] ?? "", line.model, "\(total.queries)", "\(total.cloud)",
                Money.text(micros: total.micros), line.currency,
            ]
            text += fields.map(Self.csvField).joined(separator: ",") + "\n"
        }
        return text
    }

    /// The UTC month `YYYY-MM` as [start, end).
    static func month(_ period: String) throws -> (Date, Date) {
        let parts = period.split(separator: "-")
        guard parts.count == 2, let year = Int(parts[0]), let month = Int(parts[1]), (1...12).contains(month),
            (1970...9999).contains(year)
        else { throw ControlError("--period takes a month, YYYY-MM (e.g. 2026-12), got \"\(period)\"") }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? .gmt
        guard let start = calendar.date(from: DateComponents(year: year, month: month, day: 1)),
            let end = calendar.date(byAdding: .month, value: 1, to: start)
        else { throw ControlError("--period \(period) is not a month the calendar knows") }
        return (start, end)
    }

    /// A CSV field (RFC 4180): quoted when it holds a comma, quote or line break.
    static func csvField(_ value: String) -> String {
        guard value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
