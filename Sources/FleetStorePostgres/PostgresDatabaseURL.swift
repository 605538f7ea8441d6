import FleetTrust
import Foundation

/// Where the coordinator's PostgreSQL database is: `postgres://USER@HOST:PORT/DB`, parsed and validated.
///
/// The password never travels in the URL (a command line is visible to every user of the machine, in `ps`):
/// a URL that carries one is refused, with where to put it (``PostgresPassword``). `HOST` is a name, an IPv4
/// address or a bracketed IPv6 one; `PORT` defaults to 5432. The optional `?sslmode=disable` or
/// `?sslmode=require` chooses TLS; without it, TLS is required except on loopback hosts.
public struct PostgresDatabaseURL: Sendable, Equatable, CustomStringConvertible {
    public enum TLSMode: String, Sendable { case disable, require }

    public let user: String
    public let host: String
    public let port: Int
    public let database: String
    public let tls: TLSMode

    /// The URL back, without secrets (there are none in it).
    public var description: String {
        let shownHost = host.contains(":") ? "[\(host)]" : host
        return "postgres://\(user)@\(shownHost):\(port)/\(database)?sslmode=\(tls.rawValue)"
    }

    public init(parsing text: String) throws(PostgresConfigurationError) {
        guard text.utf8.count <= 2048 else { throw .invalidURL("the database URL is longer than 2048 bytes") }
        let shape = "expected postgres://USER@HOST:PORT/DB"
        guard let components = URLComponents(string: text), let scheme = components.scheme else {
            throw .invalidURL("\(text.debugDescription) is not a URL; \(shape)")
        }
        guard scheme == "postgres" || scheme == "postgresql" else {
            throw .invalidURL("the database URL's scheme is \(scheme.debugDescription); \(shape)")
        }
        guard components.password == nil else {
            throw .passwordInURL
        }
        guard let user = components.user, !user.isEmpty else {
            throw .invalidURL("the database URL names no user; \(shape)")
        }
        guard let host = components.host, !host.isEmpty else {
            throw .invalidURL("the database URL names no host; \(shape)")
        }
        let port = components.port ?? 5432
        guard (1...65535).contains(port) else {
            throw .invalidURL("the database URL's port \(port) is not between 1 and 65535")
        }
        let path = components.path
        let database = path.hasPrefix("/") ? String(path.dropFirst()) : path
        guard !database.isEmpty, !database.contains("/") else {
            throw .invalidURL("the database URL must end with /DB, one database name; \(shape)")
        }
        guard components.fragment == nil else {
            throw .invalidURL("the database URL must not have a #fragment")
        }
        var tls: TLSMode = Self.isLoopback(host) ? .disable : .require
        for item in components.queryItems ?? [] {
            guard item.name == "sslmode", let value = item.value, let mode = TLSMode(rawValue: value) else {
                throw .invalidURL(
                    "unsupported database URL parameter \(item.name)=\(item.value ?? ""); only sslmode=disable or sslmode=require"
                )
            }
            tls = mode
        }
        self.user = user
        self.host = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        self.port = port
        self.database = database
        self.tls = tls
    }

    private static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host.hasPrefix("127.") || host == "[::1]" || host == "::1"
    }
}

/// Where the database password comes from: a file (`--database-password-file`, private to its owner) or the
/// `TINYFLEET_DATABASE_PASSWORD` environment variable; never the URL or the command line.
public enum PostgresPassword {
    public static let environmentVariable = "TINYFLEET_DATABASE_PASSWORD"
    /// Longer files are refused before they are read whole.
    static let maximumBytes = 4096

    /// The password from `file` when given, else from the environment, else nil (trust or peer authentication).
    /// The file's trailing newline is dropped; an empty password is refused.
    public static func resolve(
        file: String?,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(PostgresConfigurationError) -> String? {
        if let file { return try read(file) }
        guard let value = environment[environmentVariable] else { return nil }
        guard !value.isEmpty else { throw .invalidPassword("\(environmentVariable) is set but empty") }
        return value
    }

    /// `file` as `database.json` records it: absolute and standardized, so that `fleetctl` finds it from anywhere.
    public static func recordedPath(_ file: String) -> String {
        URL(fileURLWithPath: file).standardizedFileURL.path
    }

    private static func read(_ path: String) throws(PostgresConfigurationError) -> String {
        do throws(TrustError) {
            try PrivateFiles.requirePrivate([path], holding: "the database password file")
        } catch {
            throw .invalidPassword(error.detail)
        }
        let url = URL(fileURLWithPath: path)
        let size: Int
        do {
            size = try url.resourceValues(forKeys: [.fileSizeKey]).fileSize ?? 0
        } catch {
            throw .invalidPassword("cannot read the database password file \(path): \(error.localizedDescription)")
        }
        guard size <= maximumBytes else {
            throw .invalidPassword("the database password file \(path) is over \(maximumBytes) bytes")
        }
        guard let data = try? Data(contentsOf: url), var text = String(data: data, encoding: .utf8) else {
            throw .invalidPassword("cannot read the database password file \(path) as UTF-8 text")
        }
        while text.hasSuffix("\n") || text.hasSuffix("\r") { text.removeLast() }
        guard !text.isEmpty else { throw .invalidPassword("the database password file \(path) is empty") }
        return text
    }
}

/// A database URL or password that cannot be used, with what to do.
public enum PostgresConfigurationError: Error, Equatable, CustomStringConvertible {
    case invalidURL(String)
    case passwordInURL
    case invalidPassword(String)

    public var description: String {
        switch self {
        case .invalidURL(let detail): detail
        case .passwordInURL:
            "the database URL carries a password, which would show in the process list: remove it from the URL and "
                + "put it in a file given with --database-password-file (readable by the coordinator's user only) "
                + "or in the environment variable \(PostgresPassword.environmentVariable)"
        case .invalidPassword(let detail): detail
        }
    }
}
