import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A small secret kept in a file readable by its owner only (POSIX mode 0600).
///
/// Creation writes a temporary file opened with `O_CREAT | O_EXCL` and mode 0600, syncs it, then `link(2)`s it to
/// the final path: the key appears whole or not at all, and two processes racing to create it end up sharing the
/// first one's key. Loading refuses a symbolic link, a non-regular file, a file whose group or other permission
/// bits are set, and a file of the wrong size.
public enum SecretFile {
    /// The secret at `path`, or a new one made by `generate` and stored there.
    static func loadOrCreate(
        path: String,
        size: Int,
        holding: String = "a secret",
        generate: () -> [UInt8]
    ) throws(TrustError) -> [UInt8] {
        if let existing = try load(path: path, size: size, holding: holding) { return existing }
        let secret = generate()
        guard secret.count == size else { throw .invalidKey("generated secret has \(secret.count) bytes, not \(size)") }
        let temporary = path + ".tmp-" + Digest.hex(Digest.randomBytes(6))
        try create(secret, at: temporary)
        defer { unlink(temporary) }
        if link(temporary, path) != 0 {
            let code = errno
            guard code == EEXIST, let winner = try load(path: path, size: size, holding: holding) else {
                throw .fileAccess("cannot create \(path): \(String(cString: strerror(code)))")
            }
            return winner
        }
        return secret
    }

    /// The secret at `path`, or nil when there is no file there. `holding` names it in a refusal.
    public static func load(path: String, size: Int, holding: String = "a secret") throws(TrustError) -> [UInt8]? {
        let descriptor = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        if descriptor < 0 {
            let code = errno
            if code == ENOENT { return nil }
            if code == ELOOP { throw PrivateFiles.refusal([(path, .symbolicLink)], holding: holding) }
            throw .fileAccess("cannot open \(path): \(String(cString: strerror(code)))")
        }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw .fileAccess("cannot stat \(path)") }
        if let problem = PrivateFiles.problem(info) { throw PrivateFiles.refusal([(path, problem)], holding: holding) }
        guard info.st_size == size else { throw .invalidKey("\(path) holds \(info.st_size) bytes, expected \(size)") }
        var buffer = [UInt8](repeating: 0, count: size)
        let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, size) }
        guard count == size else { throw .fileAccess("short read of \(path)") }
        return buffer
    }

    /// Writes `bytes` to `path` with mode 0600 in place of what is there, atomically: a new temporary file, synced,
    /// then renamed over `path` (a reader sees the old bytes or the new ones, never a mix).
    public static func replace(_ bytes: [UInt8], at path: String) throws(TrustError) {
        let temporary = path + ".tmp-" + Digest.hex(Digest.randomBytes(6))
        try create(bytes, at: temporary)
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw .fileAccess("cannot replace \(path): \(reason)")
        }
    }

    /// Writes `bytes` to a new file at `path` with mode 0600, refusing to replace an existing file.
    static func create(_ bytes: [UInt8], at path: String) throws(TrustError) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw .fileAccess("cannot create \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        // The umask can only clear bits, but set the mode explicitly so the intent does not depend on it.
        guard fchmod(descriptor, 0o600) == 0 else { throw .fileAccess("cannot chmod \(path)") }
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes {
                write(descriptor, $0.baseAddress?.advanced(by: written), $0.count - written)
            }
            guard result > 0 else { throw .fileAccess("cannot write \(path): \(String(cString: strerror(errno)))") }
            written += result
        }
        guard fsync(descriptor) == 0 else { throw .fileAccess("cannot sync \(path)") }
    }
}
