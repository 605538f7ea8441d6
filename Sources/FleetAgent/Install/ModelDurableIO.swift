#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed system call on a model or transfer file; public APIs wrap it in their own error type.
struct ModelIOFailure: Error, CustomStringConvertible {
    let operation: String
    let path: String
    let code: Int32

    var description: String { "\(operation) \(path): \(String(cString: strerror(code)))" }

    /// Whether a read was refused because the file is over the caller's limit.
    var isTooLarge: Bool { code == EFBIG }
}

/// The crash-safe file primitives the journal and installer are built from.
///
/// Durability rules used throughout: file contents are `fsync`ed before the file is renamed into place,
/// and the directory is `fsync`ed after a rename, create or unlink that must survive a power cut.
/// Every call is synchronous and may block; callers run them off event loops.
enum ModelDurableIO {
    private static func failure(_ operation: String, _ path: String) -> ModelIOFailure {
        ModelIOFailure(operation: operation, path: path, code: errno)
    }

    private static func openFile(_ path: String, _ flags: Int32) throws -> Int32 {
        while true {
            let fd = open(path, flags | O_CLOEXEC, 0o644)
            if fd >= 0 { return fd }
            if errno != EINTR { throw failure("open", path) }
        }
    }

    /// Writes all of `bytes` at `offset`, retrying short writes and `EINTR`.
    private static func writeAll(_ fd: Int32, _ bytes: [UInt8], at offset: Int, path: String) throws {
        try bytes.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return }
            var done = 0
            while done < raw.count {
                let written = pwrite(fd, base + done, raw.count - done, off_t(offset + done))
                if written < 0 {
                    if errno == EINTR { continue }
                    throw failure("write", path)
                }
                done += written
            }
        }
    }

    private static func sync(_ fd: Int32, path: String) throws {
        if fsync(fd) != 0 { throw failure("fsync", path) }
    }

    /// The size of a regular file, or nil when it does not exist.
    static func fileSize(_ path: String) throws -> Int? {
        var info = stat()
        if stat(path, &info) != 0 {
            if errno == ENOENT { return nil }
            throw failure("stat", path)
        }
        return Int(info.st_size)
    }

    /// Reads a whole file, or returns nil when it does not exist; refuses files over `limit` bytes.
    static func readFile(_ path: String, limit: Int) throws -> [UInt8]? {
        let fd: Int32
        do { fd = try openFile(path, O_RDONLY) } catch let error as ModelIOFailure where error.code == ENOENT {
            return nil
        }
        defer { close(fd) }
        var info = stat()
        if fstat(fd, &info) != 0 { throw failure("fstat", path) }
        let size = Int(info.st_size)
        guard size <= limit else { throw ModelIOFailure(operation: "read", path: path, code: EFBIG) }
        var bytes = [UInt8](repeating: 0, count: size)
        var done = 0
        try bytes.withUnsafeMutableBytes { raw in
            guard let base = raw.baseAddress else { return }
            while done < size {
                let count = pread(fd, base + done, size - done, off_t(done))
                if count < 0 {
                    if errno == EINTR { continue }
                    throw failure("read", path)
                }
                if count == 0 { break }
                done += count
            }
        }
        return done == size ? bytes : Array(bytes[..<done])
    }

    /// Creates or truncates `path`, writes `bytes` and `fsync`s the file (not its directory).
    static func writeSynced(_ path: String, _ bytes: [UInt8]) throws {
        let fd = try openFile(path, O_WRONLY | O_CREAT | O_TRUNC)
        defer { close(fd) }
        try writeAll(fd, bytes, at: 0, path: path)
        try sync(fd, path: path)
    }

    /// Replaces `path` atomically: writes `path.tmp`, `fsync`s it, renames it over `path`, `fsync`s the directory.
    static func replaceAtomically(_ path: String, with bytes: [UInt8]) throws {
        let temporary = path + ".tmp"
        try writeSynced(temporary, bytes)
        try renameFile(temporary, to: path)
        try syncDirectory(containing: path)
    }

    /// Writes `bytes` at `offset` of an existing or new file, first cutting anything at or past `offset`,
    /// then `fsync`s the file. When this returns, the file is exactly `offset + bytes.count` bytes long on disk.
    static func writeSynced(_ path: String, _ bytes: [UInt8], at offset: Int) throws {
        let fd = try openFile(path, O_WRONLY | O_CREAT)
        defer { close(fd) }
        if ftruncate(fd, off_t(offset)) != 0 { throw failure("ftruncate", path) }
        try writeAll(fd, bytes, at: offset, path: path)
        try sync(fd, path: path)
    }

    /// Cuts a file to `length` bytes and `fsync`s it.
    static func truncateSynced(_ path: String, to length: Int) throws {
        let fd = try openFile(path, O_WRONLY)
        defer { close(fd) }
        if ftruncate(fd, off_t(length)) != 0 { throw failure("ftruncate", path) }
        try sync(fd, path: path)
    }

    /// Renames atomically, replacing `destination` if it exists; the directory still needs a sync.
    static func renameFile(_ source: String, to destination: String) throws {
        if rename(source, destination) != 0 { throw failure("rename", source) }
    }

    /// Makes `destination` a second name for `source` (a hard link), or a synced copy where the file system
    /// has no hard links. Fails if `destination` exists.
    static func linkOrCopy(_ source: String, to destination: String) throws {
        if link(source, destination) == 0 { return }
        guard errno == EPERM || errno == ENOTSUP || errno == EXDEV || errno == EMLINK || errno == ENOSYS else {
            throw failure("link", source)
        }
        guard let bytes = try readFile(source, limit: Int.max) else {
            throw ModelIOFailure(operation: "copy", path: source, code: ENOENT)
        }
        try writeSynced(destination, bytes)
    }

    /// Removes a file; a missing file is not an error. Returns whether something was removed.
    @discardableResult
    static func removeFile(_ path: String) throws -> Bool {
        if unlink(path) == 0 { return true }
        if errno == ENOENT { return false }
        throw failure("unlink", path)
    }

    /// Removes an empty directory; a missing one is not an error.
    static func removeDirectory(_ path: String) throws {
        if rmdir(path) != 0, errno != ENOENT { throw failure("rmdir", path) }
    }

    /// `fsync`s a directory so renames, creations and removals in it survive a power cut.
    static func syncDirectory(_ path: String) throws {
        let fd = try openFile(path, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        try sync(fd, path: path)
    }

    static func syncDirectory(containing path: String) throws {
        try syncDirectory(parent(of: path))
    }

    /// Creates `path` and any missing parents, syncing each parent so the new entries are durable.
    static func makeDirectories(_ path: String) throws {
        var info = stat()
        if stat(path, &info) == 0 { return }
        let parentPath = parent(of: path)
        if parentPath != path { try makeDirectories(parentPath) }
        if mkdir(path, 0o755) != 0, errno != EEXIST { throw failure("mkdir", path) }
        try syncDirectory(parentPath)
    }

    /// The names in a directory, without `.` and `..`; empty when the directory does not exist.
    static func entries(of path: String) throws -> [String] {
        guard let directory = opendir(path) else {
            if errno == ENOENT { return [] }
            throw failure("opendir", path)
        }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
