import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension AtRestCipher {
    /// Encrypts the file at `source` into `destination`, streaming one chunk at a time.
    ///
    /// Writes `destination + ".partial"` with mode 0600 and renames it over `destination` once complete, so a
    /// crash never leaves a half-written sealed file under the final name.
    public func sealFile(at source: String, to destination: String) throws(TrustError) {
        let input = try ChunkReader(path: source, pieceSize: Self.chunkSize)
        let partial = destination + ".partial"
        unlink(partial)
        guard FileManager.default.createFile(atPath: partial, contents: nil, attributes: [.posixPermissions: 0o600]),
            let output = FileHandle(forWritingAtPath: partial)
        else { throw .fileAccess("cannot create \(partial)") }
        do {
            defer { try? output.close() }
            let sealer = chunkSealer(fileNonce: Digest.randomBytes(8))
            try output.write(contentsOf: sealer.header)
            var index: UInt32 = 0
            while let (piece, final) = try input.next() {
                try output.write(contentsOf: try sealer.seal(piece[...], index: index, final: final))
                index = try Self.next(index)
            }
            try output.synchronize()
        } catch {
            unlink(partial)
            throw (error as? TrustError) ?? .fileAccess("cannot write \(partial): \(error)")
        }
        guard rename(partial, destination) == 0 else { throw .fileAccess("cannot rename \(partial)") }
    }

    /// Decrypts and authenticates the sealed file at `path`, reading one chunk at a time. Nothing is returned unless
    /// every chunk, including the final one, authenticates.
    public func openFile(at path: String) throws(TrustError) -> [UInt8] {
        let input = try ChunkReader(path: path, pieceSize: Self.sealedChunkSize)
        let sealer = try chunkSealer(header: try input.readHeader(count: Self.headerSize))
        var plaintext: [UInt8] = []
        var index: UInt32 = 0
        while let (piece, final) = try input.next() {
            plaintext += try sealer.open(piece[...], index: index, final: final)
            index = try Self.next(index)
        }
        guard index > 0 else { throw .decryptionFailed("\(path) holds a header but no chunk") }
        return plaintext
    }
}

/// Reads a file in fixed-size pieces, one piece ahead, so that it can tell which piece is the last.
/// An empty file yields a single empty last piece (an empty plaintext still gets one sealed chunk).
private final class ChunkReader {
    private let handle: FileHandle
    private let path: String
    private let pieceSize: Int
    private var lookahead: [UInt8]?
    private var started = false

    init(path: String, pieceSize: Int) throws(TrustError) {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw .fileAccess("cannot open \(path)") }
        self.handle = handle
        self.path = path
        self.pieceSize = pieceSize
    }

    deinit { try? handle.close() }

    func readHeader(count: Int) throws(TrustError) -> [UInt8] {
        try read(count)
    }

    /// The next piece and whether it is the last, or nil after the last.
    func next() throws(TrustError) -> ([UInt8], Bool)? {
        let current: [UInt8]
        if let lookahead {
            current = lookahead
        } else if !started {
            current = try read(pieceSize)
        } else {
            return nil
        }
        started = true
        if current.count < pieceSize {
            lookahead = nil
            return (current, true)
        }
        let following = try read(pieceSize)
        lookahead = following.isEmpty ? nil : following
        return (current, following.isEmpty)
    }

    private func read(_ count: Int) throws(TrustError) -> [UInt8] {
        do {
            var bytes: [UInt8] = []
            while bytes.count < count, let data = try handle.read(upToCount: count - bytes.count), !data.isEmpty {
                bytes += data
            }
            return bytes
        } catch {
            throw .fileAccess("cannot read \(path): \(error)")
        }
    }
}
