import FleetTrust
import Foundation

/// The load generator's device keys: 32-byte Ed25519 private keys (seeds), back to back, one per simulated
/// agent. Keys already in the file authenticate; missing ones are generated, written, then enrolled, so a
/// rerun with the same file authenticates every agent.
struct IdentityFile {
    let path: String

    /// The first `count` keys, and how many of them were already in the file (the others are new).
    func load(count: Int) throws -> (keys: [[UInt8]], existing: Int) {
        let data = FileManager.default.contents(atPath: path) ?? Data()
        let existing = min(count, data.count / 32)
        var keys: [[UInt8]] = []
        keys.reserveCapacity(count)
        for index in 0..<existing {
            keys.append(Array(data[(index * 32)..<(index * 32 + 32)]))
        }
        guard existing < count else { return (keys, existing) }
        var appended = Data(data.prefix(existing * 32))
        for _ in existing..<count {
            let key = DeviceIdentity.generate().privateKeyBytes
            keys.append(key)
            appended.append(contentsOf: key)
        }
        // The keys must be stored before they are enrolled (SPEC 6.1).
        let temporary = path + ".tmp"
        guard
            FileManager.default.createFile(
                atPath: temporary,
                contents: appended,
                attributes: [.posixPermissions: 0o600]
            )
        else { throw BenchError("cannot write \(temporary)") }
        guard rename(temporary, path) == 0 else { throw BenchError("cannot rename \(temporary) to \(path)") }
        return (keys, existing)
    }
}
