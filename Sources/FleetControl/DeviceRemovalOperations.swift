import FleetClient
import FleetWire
import Foundation

/// What `fleetctl device remove` did (`--json`: `device`, `name`, `erased`, `sampleRows`, `driftReports`,
/// `consentRecords`, `otherRows`).
public struct DeviceRemovalView: Codable, Sendable, Equatable {
    public var device: String
    public var name: String
    public var erased: Bool
    public var sampleRows: Int
    public var driftReports: Int
    public var consentRecords: Int
    public var otherRows: Int
}

extension FleetInspector {
    /// Removes a device given by id or name (a name that several devices share is refused: give the id). Its key
    /// is revoked; with `erase`, the coordinator also erases what it holds of it.
    public func removeDevice(_ idOrName: String, erase: Bool) async throws -> DeviceRemovalView {
        let all = try await devices()
        let matches =
            all.contains { $0.id == idOrName } ? all.filter { $0.id == idOrName } : all.filter { $0.name == idOrName }
        guard let device = matches.first else {
            throw ControlError("no device \"\(idOrName)\": `fleetctl devices` lists the ids and names")
        }
        guard matches.count == 1 else {
            throw ControlError(
                "\(matches.count) devices are named \"\(idOrName)\" (\(matches.map(\.id).joined(separator: ", "))): "
                    + "give the id"
            )
        }
        return try await target.withAdminConnection { connection in
            let reply = try await connection.request(
                .removeDevice(RemoveDevice(requestID: 1, deviceID: device.id, erase: erase))
            )
            guard case .deviceRemoved(let removed) = reply else { throw FleetClientError.unexpected(reply) }
            return DeviceRemovalView(
                device: removed.deviceID,
                name: removed.name,
                erased: removed.erased,
                sampleRows: removed.sampleRows,
                driftReports: removed.driftReports,
                consentRecords: removed.consentRecords,
                otherRows: removed.otherRows
            )
        }
    }
}
