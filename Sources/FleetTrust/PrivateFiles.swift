import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Directories and files that only their owner may use: the data directories (mode 0700) and the secrets and
/// databases in them (mode 0600).
///
/// Files are created with their final mode by `open(2)` itself, never widened then narrowed by `chmod`, so no
/// other local user can open them in between. What already exists is checked, as ssh checks private keys: a
/// secret that the group or others may read, or that is a symbolic link, is refused with the command that fixes
/// it. A data directory with wider modes (systemd's `StateDirectory=` creates them 0755) is tightened instead.
public enum PrivateFiles {
    /// Why an existing path cannot hold a secret.
    public enum Problem: Sendable, Equatable {
        /// A regular file whose group or other permission bits are set.
        case sharedMode(mode_t)
        /// A symbolic link: whoever can change it chooses the file the secret is read from or written to.
        case symbolicLink
        /// Not a regular file (a directory, a socket, a device).
        case notRegularFile
    }

    /// Makes `path` a directory only its owner may use: creates it (and missing parents) with mode 0700, or
    /// tightens an existing directory to 0700. Returns the mode it had when it was wider, nil otherwise.
    ///
    /// A directory with the sticky bit (such as `/tmp`) is shared by design and is refused, not tightened.
    /// - Throws: ``TrustError/insecureFile(_:)`` for a sticky or non-directory path, and
    ///   ``TrustError/fileAccess(_:)`` when it cannot be created or tightened.
    @discardableResult
    public static func prepareDirectory(_ path: String) throws(TrustError) -> mode_t? {
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty, !FileManager.default.fileExists(atPath: parent) {
            do {
                try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
            } catch {
                throw .fileAccess("cannot create \(parent): \(error.localizedDescription)")
            }
        }
        if mkdir(path, 0o700) == 0 {
            // mkdir's mode passes through the umask, which can only clear bits; make sure the owner has all three.
            guard chmod(path, 0o700) == 0 else { throw .fileAccess("cannot set mode 700 on \(path): \(errorText())") }
            return nil
        }
        guard errno == EEXIST else { throw .fileAccess("cannot create directory \(path): \(errorText())") }
        var info = stat()
        guard stat(path, &info) == 0 else { throw .fileAccess("cannot inspect \(path): \(errorText())") }
        guard info.st_mode & S_IFMT == S_IFDIR else { throw .insecureFile("\(path) exists and is not a directory") }
        guard info.st_mode & S_ISVTX == 0 else {
            throw .insecureFile(
                "\(path) is a shared directory (sticky bit, like /tmp): give the data a directory of its own"
            )
        }
        let mode = info.st_mode & 0o7777
        guard mode & 0o077 != 0 || mode & 0o700 != 0o700 else { return nil }
        guard chmod(path, 0o700) == 0 else {
            throw .fileAccess(
                "\(path) has mode \(octal(mode)) and cannot be made private (\(errorText())): "
                    + "run `chmod 700 \(path)` as its owner (uid \(info.st_uid))"
            )
        }
        return mode
    }

    /// What is wrong with `path` as a secret, or nil when nothing is there or it is a private regular file.
    public static func problem(at path: String) throws(TrustError) -> Problem? {
        var info = stat()
        guard lstat(path, &info) == 0 else {
            if errno == ENOENT { return nil }
            throw .fileAccess("cannot inspect \(path): \(errorText())")
        }
        return problem(info)
    }

    /// What is wrong with a file of status `info` as a secret, or nil.
    public static func problem(_ info: stat) -> Problem? {
        switch info.st_mode & S_IFMT {
        case S_IFLNK: .symbolicLink
        case S_IFREG: info.st_mode & 0o077 == 0 ? nil : .sharedMode(info.st_mode & 0o777)
        default: .notRegularFile
        }
    }

    /// Refuses to go on when any of `paths` exists and cannot hold a secret; `holding` says what they hold
    /// ("the device's identity key"). The message names every offending path and the command that fixes it.
    public static func requirePrivate(_ paths: [String], holding: String) throws(TrustError) {
        var found: [(String, Problem)] = []
        for path in paths {
            if let problem = try problem(at: path) { found.append((path, problem)) }
        }
        guard !found.isEmpty else { return }
        throw refusal(found, holding: holding)
    }

    /// The error for secrets that cannot be used, in ssh's manner: what is wrong, that it is refused, the fix.
    public static func refusal(_ found: [(path: String, problem: Problem)], holding: String) -> TrustError {
        let reasons = found.map { path, problem in
            switch problem {
            case .sharedMode(let mode): "\(path) has mode \(octal(mode)): group or others may read it"
            case .symbolicLink: "\(path) is a symbolic link"
            case .notRegularFile: "\(path) is not a regular file"
            }
        }
        let shared = found.filter { if case .sharedMode = $0.problem { true } else { false } }.map(\.path)
        let replaced = found.filter { !shared.contains($0.path) }.map(\.path)
        var fixes: [String] = []
        if !shared.isEmpty { fixes.append("run `chmod 600 \(shared.joined(separator: " "))`") }
        if !replaced.isEmpty {
            fixes.append("replace \(replaced.joined(separator: ", ")) with the regular file it stands for")
        }
        return .insecureFile(
            "refusing to use \(holding): \(reasons.joined(separator: "; ")). "
                + "Fix: \(fixes.joined(separator: " and ")), and treat what it held as disclosed if others could read it."
        )
    }

    /// Creates an empty file of mode 0600 at `path`; does nothing when something is already there (which the
    /// caller checks with ``requirePrivate(_:holding:)``).
    public static func createEmpty(_ path: String) throws(TrustError) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            if errno == EEXIST { return }
            throw .fileAccess("cannot create \(path): \(errorText())")
        }
        defer { close(descriptor) }
        // The umask can only clear bits; set the mode explicitly so that the owner can always read and write.
        guard fchmod(descriptor, 0o600) == 0 else { throw .fileAccess("cannot set mode 600 on \(path)") }
    }

    static func octal(_ mode: mode_t) -> String {
        let digits = String(mode, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    static func errorText() -> String { String(cString: strerror(errno)) }
}
