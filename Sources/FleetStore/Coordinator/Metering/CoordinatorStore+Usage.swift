import Foundation
import GRDB

/// A verified receipt of a device's usage ledger as the coordinator keeps it: the chain position and hash, what
/// it bills (count × the drawn grant's price) and the flags raised on it (`Protocol/METERING.md`).
public struct UsageReceiptRecord: Sendable, Hashable {
    public var deviceID: String
    public var position: UInt64
    public var hash: [UInt8]
    public var model: String
    public var grantSequence: UInt64
    /// 0 within the grant, 1 offline grace.
    public var kind: UInt8
    public var count: UInt64
    public var priceMicros: UInt64
    public var currency: String
    public var windowStart: Date
    public var windowEnd: Date
    public var receivedAt: Date
    public var flags: [String]
    public var record: [UInt8]

    public init(
        deviceID: String,
        position: UInt64,
        hash: [UInt8],
        model: String,
        grantSequence: UInt64,
        kind: UInt8,
        count: UInt64,
        priceMicros: UInt64,
        currency: String,
        windowStart: Date,
        windowEnd: Date,
        receivedAt: Date,
        flags: [String],
        record: [UInt8]
    ) {
        self.deviceID = deviceID
        self.position = position
        self.hash = hash
        self.model = model
        self.grantSequence = grantSequence
        self.kind = kind
        self.count = count
        self.priceMicros = priceMicros
        self.currency = currency
        self.windowStart = StoredDate.rounded(windowStart)
        self.windowEnd = StoredDate.rounded(windowEnd)
        self.receivedAt = StoredDate.rounded(receivedAt)
        self.flags = flags
        self.record = record
    }

    /// The amount billed, in micro-units.
    public var amountMicros: UInt64 { count.multipliedReportingOverflow(by: priceMicros).partialValue }

    init(row: Row) {
        self.init(
            deviceID: row["deviceID"],
            position: UInt64(clamping: row["position"] as Int64),
            hash: Array(row["hash"] as Data),
            model: row["model"],
            grantSequence: UInt64(clamping: row["grantSequence"] as Int64),
            kind: UInt8(clamping: row["kind"] as Int64),
            count: UInt64(clamping: row["count"] as Int64),
            priceMicros: UInt64(clamping: row["priceMicros"] as Int64),
            currency: row["currency"],
            windowStart: StoredDate.date(row["windowStart"]),
            windowEnd: StoredDate.date(row["windowEnd"]),
            receivedAt: StoredDate.date(row["receivedAt"]),
            flags: (row["flags"] as String).split(separator: ",").map(String.init),
            record: Array(row["record"] as Data)
        )
    }
}

extension CoordinatorStore {
    /// The device's last stored receipt (the head of its chain), nil before its first.
    public func usageHead(deviceID: String) async throws -> UsageReceiptRecord? {
        try await read { db in
            try Row.fetchOne(
                db,
                sql: #"SELECT * FROM "usageReceipt" WHERE "deviceID" = ? ORDER BY "position" DESC LIMIT 1"#,
                arguments: [deviceID]
            ).map(UsageReceiptRecord.init(row:))
        }
    }

    /// The stored receipt at `position` of the device's chain.
    public func usageReceipt(deviceID: String, position: UInt64) async throws -> UsageReceiptRecord? {
        try await read { db in
            try Row.fetchOne(
                db,
                sql: #"SELECT * FROM "usageReceipt" WHERE "deviceID" = ? AND "position" = ?"#,
                arguments: [deviceID, Int64(clamping: position)]
            ).map(UsageReceiptRecord.init(row:))
        }
    }

    /// Appends verified receipts (consecutive positions after the head) and their events, in one transaction.
    public func appendUsageReceipts(_ receipts: [UsageReceiptRecord], events: [NewEvent]) async throws {
        try await write { db in
            for receipt in receipts {
                try db.execute(
                    sql: #"""
                        INSERT INTO "usageReceipt" ("deviceID", "position", "hash", "model", "grantSequence", "kind",
                            "count", "priceMicros", "currency", "windowStart", "windowEnd", "receivedAt", "flags",
                            "record")
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """#,
                    arguments: [
                        receipt.deviceID, Int64(clamping: receipt.position), Data(receipt.hash), receipt.model,
                        Int64(clamping: receipt.grantSequence), Int64(receipt.kind), Int64(clamping: receipt.count),
                        Int64(clamping: receipt.priceMicros), receipt.currency,
                        StoredDate.milliseconds(receipt.windowStart), StoredDate.milliseconds(receipt.windowEnd),
                        StoredDate.milliseconds(receipt.receivedAt), receipt.flags.joined(separator: ","),
                        Data(receipt.record),
                    ]
                )
            }
            for event in events { _ = try EventRow.append(event, in: db) }
        }
    }

    /// Receipts in (device, position) order, optionally of one device and model, with a window ending in
    /// `since ..< until`.
    public func usageReceipts(
        deviceID: String? = nil,
        model: String? = nil,
        since: Date? = nil,
        until: Date? = nil
    )
        async throws -> [UsageReceiptRecord]
    {
        try await read { db in
            var conditions: [String] = []
            var arguments: [any DatabaseValueConvertible] = []
            if let deviceID {
                conditions.append(#""deviceID" = ?"#)
                arguments.append(deviceID)
            }
            if let model {
                conditions.append(#""model" = ?"#)
                arguments.append(model)
            }
            if let since {
                conditions.append(#""windowEnd" >= ?"#)
                arguments.append(StoredDate.milliseconds(since))
            }
            if let until {
                conditions.append(#""windowEnd" < ?"#)
                arguments.append(StoredDate.milliseconds(until))
            }
            let filter = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
            return try Row.fetchAll(
                db,
                sql: #"SELECT * FROM "usageReceipt""# + filter + #" ORDER BY "deviceID", "position""#,
                arguments: StatementArguments(arguments)
            ).map(UsageReceiptRecord.init(row:))
        }
    }
}

extension CoordinatorStore {
    /// Queries per UTC day (days since the epoch, by `windowEnd`) of one device, for days at or after `sinceDay`.
    public func dailyUsage(deviceID: String, sinceDay: Int64) async throws -> [Int64: UInt64] {
        try await read { db in
            var days: [Int64: UInt64] = [:]
            for row in try Row.fetchAll(
                db,
                sql: #"""
                    SELECT "windowEnd" / 86400000 AS "day", SUM("count") AS "total" FROM "usageReceipt"
                    WHERE "deviceID" = ? AND "windowEnd" >= ? GROUP BY "day"
                    """#,
                arguments: [deviceID, sinceDay * 86_400_000]
            ) {
                days[row["day"]] = UInt64(clamping: row["total"] as Int64)
            }
            return days
        }
    }
}
