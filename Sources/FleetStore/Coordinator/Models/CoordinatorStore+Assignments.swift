import Foundation

extension CoordinatorStore {
    /// Stores what `assignment.deviceID` should run of `assignment.model`, replacing the previous assignment
    /// for that pair. Appends an "assigned" event for the device, dated `updatedAt`, only when the
    /// (version, variant) changed (a first assignment counts as a change); a new reason alone is stored
    /// silently.
    ///
    /// Throws `notFound` for an unknown device, an unknown variant, or (with no variant) a model with no
    /// variant at all; `invalidArgument` when only one of version and variant is set.
    public func setAssignment(_ assignment: ModelAssignment) async throws {
        try ModelValidation.assignment(assignment)
        try await sqlWrite { connection in
            guard
                try connection.queryOne(#"SELECT 1 FROM "device" WHERE "id" = ?"#, [.text(assignment.deviceID)]) != nil
            else {
                throw StoreError.notFound.with("no device \(assignment.deviceID)")
            }
            if let version = assignment.version, let variant = assignment.variant {
                guard
                    try ModelVariantRow.find(
                        model: assignment.model,
                        version: version,
                        variant: variant,
                        in: connection
                    )
                        != nil
                else {
                    throw StoreError.notFound.with("no model \(assignment.model) v\(version) \(variant)")
                }
            } else {
                guard try Self.latestVersion(of: assignment.model, in: connection) != nil else {
                    throw StoreError.notFound.with("no model \(assignment.model)")
                }
            }
            let previous = try AssignmentRow.find(
                deviceID: assignment.deviceID,
                model: assignment.model,
                in: connection
            )?
            .record
            try AssignmentRow.replace(assignment, in: connection)
            if let previous, previous.version == assignment.version, previous.variant == assignment.variant {
                return
            }
            let target = Self.describe(assignment.model, assignment.version, assignment.variant)
            let was = previous.map { " (was \(Self.describe(nil, $0.version, $0.variant)))" } ?? ""
            _ = try EventRow.append(
                NewEvent(
                    at: assignment.updatedAt,
                    deviceID: assignment.deviceID,
                    kind: "assigned",
                    detail: "\(target)\(was): \(assignment.reason)"
                ),
                in: connection
            )
        }
    }

    /// The device's assignments, by model.
    public func assignments(deviceID: String) async throws -> [ModelAssignment] {
        try await sqlRead { connection in
            try AssignmentRow.fetchAll(connection, #"WHERE "deviceID" = ? ORDER BY "model""#, [.text(deviceID)])
                .map(\.record)
        }
    }

    /// The model's assignments, by device id.
    public func assignments(model: String) async throws -> [ModelAssignment] {
        try await sqlRead { connection in
            try AssignmentRow.fetchAll(connection, #"WHERE "model" = ? ORDER BY "deviceID""#, [.text(model)])
                .map(\.record)
        }
    }

    /// "kws v3 int8", "kws none", or without the model name "v3 int8", "none".
    private static func describe(_ model: String?, _ version: Int?, _ variant: String?) -> String {
        let target = if let version, let variant { "v\(version) \(variant)" } else { "none" }
        return model.map { "\($0) \(target)" } ?? target
    }
}
