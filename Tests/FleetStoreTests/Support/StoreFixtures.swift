import Foundation
import Testing

@testable import FleetStore

/// Where a test's store lives: every behaviour is checked on both.
enum StoreKind: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case inMemory
    case file

    var testDescription: String { rawValue }
}

/// A fresh directory under the system temporary directory, removed by `remove()`.
struct TemporaryDirectory: Sendable {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("FleetStoreTests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String {
        url.appendingPathComponent(name).path
    }

    func remove() {
        try? FileManager.default.removeItem(at: url)
    }
}

/// Runs `body` with a new coordinator store of the given kind, then deletes its files.
@discardableResult
func withCoordinator<T>(_ kind: StoreKind, _ body: (CoordinatorStore) async throws -> T) async throws -> T {
    switch kind {
    case .inMemory:
        return try await body(try CoordinatorStore.inMemory())
    case .file:
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        return try await body(try CoordinatorStore(path: directory.path("coordinator.sqlite")))
    }
}

/// Runs `body` with a new agent store of the given kind, then deletes its files.
@discardableResult
func withAgent<T>(_ kind: StoreKind, _ body: (AgentStore) async throws -> T) async throws -> T {
    switch kind {
    case .inMemory:
        return try await body(try AgentStore.inMemory())
    case .file:
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        return try await body(try AgentStore(path: directory.path("agent.sqlite")))
    }
}

/// Fixed dates, whole milliseconds, so they read back exactly.
enum Dates {
    static let start = Date(timeIntervalSince1970: 1_700_000_000)

    static func at(_ seconds: Double) -> Date {
        start.addingTimeInterval(seconds)
    }
}

enum Fixtures {
    static func hash(_ seed: UInt8) -> [UInt8] {
        [UInt8](repeating: seed, count: 32)
    }

    static func token(
        id: String = "tok-1",
        hashSeed: UInt8 = 1,
        uses: Int = 1,
        expiresAt: Date? = nil,
        labels: [String: String] = [:]
    ) -> NewEnrolmentToken {
        NewEnrolmentToken(
            id: id,
            secretHash: hash(hashSeed),
            uses: uses,
            expiresAt: expiresAt,
            labels: labels,
            createdAt: Dates.start
        )
    }

    static func device(
        _ index: Int,
        name: String? = nil,
        labels: [String: String] = [:],
        key: [UInt8]? = nil
    ) -> NewDevice {
        NewDevice(
            id: "dev-\(index)",
            name: name ?? "device \(index)",
            publicKey: key ?? publicKey(index),
            labels: labels,
            capabilities: ["arch": "arm64"],
            agentVersion: "1.0.0",
            enrolledAt: Dates.at(1)
        )
    }

    static func publicKey(_ index: Int) -> [UInt8] {
        var key = [UInt8](repeating: 0xAB, count: 32)
        withUnsafeBytes(of: UInt64(index).bigEndian) { bytes in
            key.replaceSubrange(24..<32, with: bytes)
        }
        return key
    }

    /// Enrols devices 0..<count with one token that has enough uses.
    @discardableResult
    static func enrolDevices(
        _ count: Int,
        in store: CoordinatorStore,
        hashSeed: UInt8 = 200
    ) async throws
        -> [DeviceRecord]
    {
        _ = try await store.createToken(token(id: "bulk-\(hashSeed)", hashSeed: hashSeed, uses: count))
        var records: [DeviceRecord] = []
        for index in 0..<count {
            records.append(
                try await store.enrol(device: device(index), tokenHash: hash(hashSeed), now: Dates.at(1))
            )
        }
        return records
    }
}
