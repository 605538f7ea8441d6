import FleetDelta
import FleetTinyKit
import Foundation

/// The simulated leaf's model installer: the full payload (the weights file, zlib-compressed) is gathered, inflated
/// (bounded by the manifest's size), checked against the signed manifest's size and SHA-256, and only then written
/// as the leaf's model file. Deltas are not accepted (the leaf asks for full payloads: it names no base).
struct HostInstaller: TinyModelInstaller {
    let modelPath: String
    let maximumPayload: Int
    private var target = TinyInstalledModel()
    private var targetSize = 0
    private var payload: [UInt8] = []

    init(modelPath: String, maximumPayload: Int) {
        self.modelPath = modelPath
        self.maximumPayload = maximumPayload
    }

    func accepts(encoding: UInt8) -> Bool { encoding == 0 }

    mutating func begin(target: TinyInstalledModel, targetSize: Int, encoding: UInt8, totalBytes: Int) -> Bool {
        guard encoding == 0, totalBytes <= maximumPayload, targetSize <= maximumPayload else { return false }
        self.target = target
        self.targetSize = targetSize
        payload = []
        payload.reserveCapacity(totalBytes)
        return true
    }

    mutating func write(_ bytes: UnsafeRawBufferPointer) -> Bool {
        payload += bytes
        return true
    }

    mutating func finish() -> TinyInstallOutcome {
        defer { payload = [] }
        guard let file = try? Zlib.decompress(payload, maximumSize: targetSize) else { return .reconstructionFailed }
        var hasher = TinySHA256()
        file.withUnsafeBytes { hasher.update($0) }
        let digest = hasher.finalize()
        let expected = target.withFields { _, _, sha in TinyDigest32(bytes: sha) }
        guard file.count == targetSize, digest == expected else { return .hashMismatch }
        do {
            try Data(file).write(to: URL(fileURLWithPath: modelPath), options: .atomic)
        } catch {
            return .storageError
        }
        return .installed
    }
}
