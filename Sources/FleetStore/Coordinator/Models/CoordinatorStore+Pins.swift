import Foundation

/// An operator's hold of a device (or, with `deviceID` "*", every device) on one version of a model.
public struct ModelPin: Sendable, Equatable, Codable {
    /// A device id, or ``ModelPin/everyDevice``.
    public var deviceID: String
    public var model: String
    public var version: Int
    /// Whether going below the installed version is deliberate: the coordinator then signs a rollback
    /// directive for the device instead of re-sending the old release manifest (which agents refuse).
    public var rollback: Bool
    public var pinnedAt: Date

    public static let everyDevice = "*"

    public init(deviceID: String, model: String, version: Int, rollback: Bool, pinnedAt: Date) {
        self.deviceID = deviceID
        self.model = model
        self.version = version
        self.rollback = rollback
        self.pinnedAt = StoredDate.rounded(pinnedAt)
    }
}

extension CoordinatorStore {
    /// Pins, replacing an earlier pin of the same device and model; appends a "pinned" event.
    public func setPin(_ pin: ModelPin) async throws {
        guard pin.version >= 1 else { throw StoreError.invalidArgument.with("a pin names version 1 or higher") }
        try await sqlWrite { connection in
            try connection.execute(
                connection.dialect.upsert(
                    into: "modelPin",
                    columns: ["deviceID", "model", "version", "rollback", "pinnedAt"],
                    key: ["deviceID", "model"]
                ),
                [
                    .text(pin.deviceID), .text(pin.model), SQLValue(pin.version), .integer(pin.rollback ? 1 : 0),
                    .integer(StoredDate.milliseconds(pin.pinnedAt)),
                ]
            )
            _ = try EventRow.append(
                NewEvent(
                    at: pin.pinnedAt,
                    deviceID: pin.deviceID == ModelPin.everyDevice ? nil : pin.deviceID,
                    kind: "pinned",
                    detail: "\(pin.model) v\(pin.version)\(pin.rollback ? " (rollback)" : "")"
                        + (pin.deviceID == ModelPin.everyDevice ? " for every device" : "")
                ),
                in: connection
            )
        }
    }

    /// Removes a pin; returns whether there was one.
    @discardableResult
    public func removePin(deviceID: String, model: String) async throws -> Bool {
        try await sqlWrite { connection in
            let removed =
                try connection.execute(
                    #"DELETE FROM "modelPin" WHERE "deviceID" = ? AND "model" = ?"#,
                    [.text(deviceID), .text(model)]
                ) > 0
            if removed {
                _ = try EventRow.append(
                    NewEvent(
                        at: Date(),
                        deviceID: deviceID == ModelPin.everyDevice ? nil : deviceID,
                        kind: "unpinned",
                        detail: model
                    ),
                    in: connection
                )
            }
            return removed
        }
    }

    /// The pin that applies to a device: its own, else the fleet-wide one.
    public func pin(deviceID: String, model: String) async throws -> ModelPin? {
        try await sqlRead { connection in
            let row = try connection.queryOne(
                #"""
                SELECT "deviceID", "model", "version", "rollback", "pinnedAt" FROM "modelPin"
                WHERE "model" = ? AND "deviceID" IN (?, ?) ORDER BY "deviceID" = ? LIMIT 1
                """#,
                [.text(model), .text(deviceID), .text(ModelPin.everyDevice), .text(ModelPin.everyDevice)]
            )
            guard let row else { return nil }
            return ModelPin(
                deviceID: try row.string("deviceID"),
                model: try row.string("model"),
                version: try row.int("version"),
                rollback: try row.int64("rollback") != 0,
                pinnedAt: StoredDate.date(try row.int64("pinnedAt"))
            )
        }
    }
}
