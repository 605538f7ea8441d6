import FleetDelta
import FleetTrust
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Content-addressed files under the data directory: `blobs/sha256/<ab>/<hex>` for model files,
/// `payloads/<name>` for prepared transfer payloads (compressed files, deltas). Written through a temporary
/// file, fsync and rename, so a crash never leaves a half-written blob under its final name.
public struct BlobStore: Sendable {
    public let root: String

    public init(dataDirectory: String) {
        root = dataDirectory
    }

    public func blobRelativePath(sha256: [UInt8]) -> String {
        let hex = Digest.hex(sha256)
        return "blobs/sha256/\(hex.prefix(2))/\(hex)"
    }

    public func absolute(_ relativePath: String) -> String { root + "/" + relativePath }

    /// Moves a finished upload into place under its hash; returns the relative path.
    public func adopt(file path: String, sha256: [UInt8]) throws -> String {
        let relative = blobRelativePath(sha256: sha256)
        let target = absolute(relative)
        try FileManager.default.createDirectory(
            atPath: (target as NSString).deletingLastPathComponent,
            withIntermediateDirectories: true
        )
        try Self.fsync(path: path)
        if FileManager.default.fileExists(atPath: target) {
            try FileManager.default.removeItem(atPath: path)
        } else if rename(path, target) != 0 {
            throw CoordinatorError.dataDirectory("cannot move blob into \(target): errno \(errno)")
        }
        return relative
    }

    /// Writes bytes under `payloads/NAME` atomically; returns the relative path.
    public func writePayload(_ bytes: [UInt8], name: String) throws -> String {
        try writeAtomically(name: name) { handle in try handle.write(contentsOf: bytes) }
    }

    /// Writes the blob at `relativePath`, zlib-compressed at level 9, under `payloads/NAME` atomically, reading
    /// and compressing ``streamChunkSize`` bytes at a time: memory stays bounded whatever the blob's size.
    /// Returns the relative path, the payload's size and its sha256.
    func writeCompressedPayload(
        of relativePath: String,
        name: String
    ) throws -> (path: String, size: Int, sha256: [UInt8]) {
        guard let source = FileHandle(forReadingAtPath: absolute(relativePath)) else {
            throw CoordinatorError.dataDirectory("missing file \(relativePath)")
        }
        defer { try? source.close() }
        let deflater = try ZlibDeflateStream(level: 9)
        var hasher = BlobHasher()
        let path = try writeAtomically(name: name) { handle in
            var output: [UInt8] = []
            while true {
                let chunk = Array(try source.read(upToCount: Self.streamChunkSize) ?? Data())
                output.removeAll(keepingCapacity: true)
                try deflater.compress(chunk, finish: chunk.isEmpty, into: &output)
                hasher.update(output)
                try handle.write(contentsOf: output)
                if chunk.isEmpty { break }
            }
        }
        return (path, hasher.byteCount, hasher.finalize())
    }

    /// Bytes read at a time when a payload is computed from a blob as a stream.
    static let streamChunkSize = 1 << 20

    /// Runs `write` on a temporary file beside `payloads/NAME`, then fsyncs and renames it into place.
    private func writeAtomically(name: String, _ write: (FileHandle) throws -> Void) throws -> String {
        let relative = "payloads/\(name)"
        let target = absolute(relative)
        try FileManager.default.createDirectory(atPath: root + "/payloads", withIntermediateDirectories: true)
        let temporary = target + ".tmp-\(UUID().uuidString.prefix(8))"
        guard FileManager.default.createFile(atPath: temporary, contents: nil),
            let handle = FileHandle(forWritingAtPath: temporary)
        else {
            throw CoordinatorError.dataDirectory("cannot write \(temporary)")
        }
        do {
            try write(handle)
            try handle.synchronize()
            try handle.close()
        } catch {
            try? handle.close()
            try? FileManager.default.removeItem(atPath: temporary)
            throw error
        }
        guard rename(temporary, target) == 0 else {
            try? FileManager.default.removeItem(atPath: temporary)
            throw CoordinatorError.dataDirectory("cannot write \(target): errno \(errno)")
        }
        return relative
    }

    public func read(_ relativePath: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: absolute(relativePath)) else {
            throw CoordinatorError.dataDirectory("missing file \(relativePath)")
        }
        return Array(data)
    }

    public func exists(_ relativePath: String) -> Bool {
        FileManager.default.fileExists(atPath: absolute(relativePath))
    }

    static func fsync(path: String) throws {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw CoordinatorError.dataDirectory("cannot open \(path): errno \(errno)") }
        defer { close(descriptor) }
        guard Glibc.fsync(descriptor) == 0 else {
            throw CoordinatorError.dataDirectory("fsync \(path): errno \(errno)")
        }
    }
}
