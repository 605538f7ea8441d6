import Foundation

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

    init(row: SQLRow) throws {
        self.init(
            deviceID: try row.string("deviceID"),
            position: UInt64(clamping: try row.int64("position")),
            hash: try row.bytes("hash"),
            model: try row.string("model"),
            grantSequence: UInt64(clamping: try row.int64("grantSequence")),
            kind: UInt8(clamping: try row.int64("kind")),
            count: UInt64(clamping: try row.int64("count")),
            priceMicros: UInt64(clamping: try row.int64("priceMicros")),
            currency: try row.string("currency"),
            windowStart: StoredDate.date(try row.int64("windowStart")),
            windowEnd: StoredDate.date(try row.int64("windowEnd")),
            receivedAt: StoredDate.date(try row.int64("receivedAt")),
            flags: try row.string("flags").split(separator: ",").map(String.init),
            record: try row.bytes("record")
        )
    }
}

extension CoordinatorStore {
    /// The device's last stored receipt (the head of its chain), nil before its first.
    public func usageHead(deviceID: String) async throws -> UsageReceiptRecord? {
        try await sqlRead { connection in
            try connection.queryOne(
                #"SELECT * FROM "usageReceipt" WHERE "deviceID" = ? ORDER BY "position" DESC LIMIT 1"#,
                [.text(deviceID)]
            ).map(UsageReceiptRecord.init(row:))
        }
    }

    /// The stored receipt at `position` of the device's chain.
    public func usageReceipt(deviceID: String, position: UInt64) async throws -> UsageReceiptRecord? {
        try await sqlRead { connection in
            try connection.queryOne(
                #"SELECT * FROM "usageReceipt" WHERE "deviceID" = ? AND "position" = ?"#,
                [.text(deviceID), .integer(Int64(clamping: position))]
            ).map(UsageReceiptRecord.init(row:))
        }
    }

    /// Appends verified receipts (consecutive positions after the head) and their events, in one transaction.
    public func appendUsageReceipts(_ receipts: [UsageReceiptRecord], events: [NewEvent]) async throws {
        try await sqlWrite { connection in
            for receipt in receipts {
                try connection.execute(
                    #"""
                    INSERT INTO "usageReceipt" ("deviceID", "position", "hash", "model", "grantSequence", "kind",
                        "count", "priceMicros", "currency", "windowStart", "windowEnd", "receivedAt", "flags",
                        "record")
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """#,
                    [
                        .text(receipt.deviceID), .integer(Int64(clamping: receipt.position)), .bytes(receipt.hash),
                        .text(receipt.model), .integer(Int64(clamping: receipt.grantSequence)),
                        .integer(Int64(receipt.kind)), .integer(Int64(clamping: receipt.count)),
                        .integer(Int64(clamping: receipt.priceMicros)), .text(receipt.currency),
                        .integer(StoredDate.milliseconds(receipt.windowStart)),
                        .integer(StoredDate.milliseconds(receipt.windowEnd)),
                        .integer(StoredDate.milliseconds(receipt.receivedAt)),
                        .text(receipt.flags.joined(separator: ",")), .bytes(receipt.record),
                    ]
                )
            }
            for event in events { _ = try EventRow.append(event, in: connection) }
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
        try await sqlRead { connection in
            var conditions: [String] = []
            var arguments: [SQLValue] = []
            if let deviceID {
                conditions.append(#""deviceID" = ?"#)
                arguments.append(.text(deviceID))
            }
            if let model {
                conditions.append(#""model" = ?"#)
                arguments.append(.text(model))
            }
            if let since {
                conditions.append(#""windowEnd" >= ?"#)
                arguments.append(.integer(StoredDate.milliseconds(since)))
            }
            if let until {
                conditions.append(#""windowEnd" < ?"#)
                arguments.append(.integer(StoredDate.milliseconds(until)))
            }
            let filter = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
            return try connection.query(
                #"SELECT * FROM "usageReceipt""# + filter + #" ORDER BY "deviceID", "position""#,
                arguments
            ).map(UsageReceiptRecord.init(row:))
        }
    }
}

extension CoordinatorStore {
    /// Queries per UTC day (days since the epoch, by `windowEnd`) of one device, for days at or after `sinceDay`.
    public func dailyUsage(deviceID: String, sinceDay: Int64) async throws -> [Int64: UInt64] {
        try await sqlRead { connection in
            var days: [Int64: UInt64] = [:]
            for row in try connection.query(
                #"""
                SELECT "windowEnd" / 86400000 AS "day", \#(connection.dialect.integerSum(#""count""#)) AS "total"
                FROM "usageReceipt"
                WHERE "deviceID" = ? AND "windowEnd" >= ? GROUP BY "windowEnd" / 86400000
                """#,
                [.text(deviceID), .integer(sinceDay * 86_400_000)]
            ) {
                days[try row.int64("day")] = UInt64(clamping: try row.int64("total"))
            }
            return days
        }
    }
}
