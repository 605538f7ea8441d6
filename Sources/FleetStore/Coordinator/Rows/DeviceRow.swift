import FleetTrust
import Foundation
import GRDB

/// The `device` table. Raw columns stay private; typed values come from ``record(json:)``.
struct DeviceRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "device"

    enum Columns {
        static let id = Column("id")
        static let name = Column("name")
        static let publicKey = Column("publicKey")
        static let status = Column("status")
    }

    private var id: String
    private var name: String
    private var publicKey: Data
    private var labels: String
    private var capabilities: String
    private var agentVersion: String
    private var installedModels: String
    private(set) var status: String
    private var lastSeen: Int64?
    private var enrolledAt: Int64
    private var tokenID: String

    init(_ device: NewDevice, labels: [String: String], tokenID: String, json: JSONColumn) throws {
        id = device.id
        name = device.name
        publicKey = Data(device.publicKey)
        self.labels = try json.encode(labels)
        capabilities = try json.encode(device.capabilities)
        agentVersion = device.agentVersion
        installedModels = try json.encode([StoredInstalledModel]())
        status = DeviceStatus.offline.rawValue
        lastSeen = nil
        enrolledAt = StoredDate.milliseconds(device.enrolledAt)
        self.tokenID = tokenID
    }

    init(row: SQLRow) throws {
        id = try row.string("id")
        name = try row.string("name")
        publicKey = Data(try row.bytes("publicKey"))
        labels = try row.string("labels")
        capabilities = try row.string("capabilities")
        agentVersion = try row.string("agentVersion")
        installedModels = try row.string("installedModels")
        status = try row.string("status")
        lastSeen = try row.optionalInt64("lastSeen")
        enrolledAt = try row.int64("enrolledAt")
        tokenID = try row.string("tokenID")
    }

    /// Inserts this row.
    func insert(into connection: any SQLConnection) throws {
        try connection.execute(
            #"INSERT INTO "device" (\#(Self.columnList)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"#,
            [
                .text(id), .text(name), .bytes([UInt8](publicKey)), .text(labels), .text(capabilities),
                .text(agentVersion), .text(installedModels), .text(status), SQLValue(lastSeen), .integer(enrolledAt),
                .text(tokenID),
            ]
        )
    }

    func record(json: JSONColumn) throws -> DeviceRecord {
        guard let decodedStatus = DeviceStatus(rawValue: status) else {
            throw StoreError.corrupt.with("device \(id) has unknown status \(status)")
        }
        let models = try json.decode(
            [StoredInstalledModel].self,
            from: installedModels,
            column: "device.installedModels"
        )
        return DeviceRecord(
            id: id,
            name: name,
            publicKey: [UInt8](publicKey),
            labels: try json.decode([String: String].self, from: labels, column: "device.labels"),
            capabilities: try json.decode([String: String].self, from: capabilities, column: "device.capabilities"),
            agentVersion: agentVersion,
            installedModels: try models.map { try $0.record() },
            status: decodedStatus,
            lastSeen: lastSeen.map(StoredDate.date),
            enrolledAt: StoredDate.date(enrolledAt),
            tokenID: tokenID
        )
    }
}

/// The JSON shape of one entry of `device.installedModels`: the digest is hex, readable in `sqlite3`.
struct StoredInstalledModel: Codable {
    var name: String
    var version: Int
    var variant: String
    var sha256: String

    init(_ model: InstalledModelRecord) {
        name = model.name
        version = model.version
        variant = model.variant
        sha256 = Digest.hex(model.sha256)
    }

    func record() throws -> InstalledModelRecord {
        guard let digest = Digest.bytes(hex: sha256) else {
            throw StoreError.corrupt.with("installed model \(name) has a malformed sha256")
        }
        return InstalledModelRecord(name: name, version: version, variant: variant, sha256: digest)
    }
}
