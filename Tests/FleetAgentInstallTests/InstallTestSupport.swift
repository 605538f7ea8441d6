import Foundation

@testable import FleetAgent

/// A stand-in for SHA-256 in tests: four FNV-1a-64 lanes with different offsets, 32 bytes in all.
/// Not collision resistant; it only needs to differ for the distinct payloads the tests use.
let fakeHash: ModelHashFunction = { bytes in
    var digest: [UInt8] = []
    for lane in UInt64(0)..<4 {
        var state: UInt64 = 0xcbf2_9ce4_8422_2325 &+ lane &* 0x9e37_79b9_7f4a_7c15
        for byte in bytes {
            state = (state ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        for shift in stride(from: 56, through: 0, by: -8) {
            digest.append(UInt8(truncatingIfNeeded: state >> UInt64(shift)))
        }
    }
    return digest
}

func fakeDigest(_ bytes: [UInt8]) -> String { fakeHash(bytes).modelHexString }

/// A fixed clock with whole seconds, which survive the ISO 8601 round trip through the state files.
let fixedNow: @Sendable () -> Date = { Date(timeIntervalSince1970: 1_750_000_000) }

/// A fresh data directory, removed when the test's closure returns.
func withDataDirectory(_ body: (String) throws -> Void) throws {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-install-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: path) }
    try body(path)
}

func payload(_ count: Int, seed: UInt8) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31) ^ seed }
}

func fileBytes(_ path: String) -> [UInt8]? {
    FileManager.default.contents(atPath: path).map { Array($0) }
}

func fileExists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

func writeBytes(_ bytes: [UInt8], to path: String) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}

/// The error a crash-test checkpoint throws to stop an install at a chosen step.
struct SimulatedCrash: Error {}
