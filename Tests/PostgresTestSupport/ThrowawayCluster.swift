import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A PostgreSQL cluster in a temporary directory, for one test process: `initdb`, then `pg_ctl start` on
/// 127.0.0.1 at a free port, stopped (`pg_ctl stop -m immediate`) and deleted when the process exits.
package struct ThrowawayCluster {
    let port: Int

    private static let install =
        "install Debian's PostgreSQL server (`apt-get install -y postgresql`; .ci/run does it), or point "
        + "TINYFLEET_TEST_POSTGRES at a server: postgres://USER@HOST:PORT/DB"

    static func start() throws(PostgresClusterError) -> ThrowawayCluster {
        let bin = try binDirectory()
        let runAs = try runAsUser()
        let directory = try makeDirectory(owner: runAs)
        let data = directory + "/data"
        let log = directory + "/log"
        try run(
            bin + "/initdb",
            ["-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"],
            as: runAs,
            log: log
        )
        var failures: [String] = []
        for _ in 0..<3 {
            let port = try freePort()
            let options = "-p \(port) -k \(directory) -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
            do {
                try run(
                    bin + "/pg_ctl",
                    ["-D", data, "-o", options, "-l", log, "-w", "-t", "60", "start"],
                    as: runAs,
                    log: log
                )
                stopAtExit = (bin + "/pg_ctl", data, directory, runAs)
                atexit { ThrowawayCluster.stopRegistered() }
                return ThrowawayCluster(port: port)
            } catch {
                // Another process may have taken the port between the probe and the start: try another.
                failures.append(error.description)
            }
        }
        throw PostgresClusterError(
            "the throwaway PostgreSQL cluster did not start:\n" + failures.joined(separator: "\n")
        )
    }

    /// The server binaries: the newest `root`/N/bin with `initdb` and `pg_ctl`.
    package static func binDirectory(root: String = "/usr/lib/postgresql") throws(PostgresClusterError) -> String {
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [])
            .compactMap(Int.init).sorted(by: >)
        for version in versions {
            let bin = "\(root)/\(version)/bin"
            if FileManager.default.isExecutableFile(atPath: bin + "/initdb"),
                FileManager.default.isExecutableFile(atPath: bin + "/pg_ctl")
            {
                return bin
            }
        }
        throw PostgresClusterError("PostgreSQL's initdb and pg_ctl are not in \(root)/N/bin: \(install)")
    }

    /// PostgreSQL refuses to run as root: as root, the cluster runs as the `postgres` user the package creates.
    private static func runAsUser() throws(PostgresClusterError) -> (name: String, uid: uid_t, gid: gid_t)? {
        guard geteuid() == 0 else { return nil }
        guard let entry = getpwnam("postgres") else {
            throw PostgresClusterError(
                "the tests run as root and there is no `postgres` user to run PostgreSQL as: \(install)"
            )
        }
        return ("postgres", entry.pointee.pw_uid, entry.pointee.pw_gid)
    }

    private static func makeDirectory(
        owner: (name: String, uid: uid_t, gid: gid_t)?
    ) throws(PostgresClusterError) -> String {
        var template = Array((NSTemporaryDirectory() + "/tinyfleet-pg-XXXXXX").utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw PostgresClusterError(
                "cannot create a temporary directory for PostgreSQL: \(String(cString: strerror(errno)))"
            )
        }
        let directory = String(cString: made)
        if let owner, chown(directory, owner.uid, owner.gid) != 0 {
            throw PostgresClusterError(
                "cannot give \(directory) to the postgres user: \(String(cString: strerror(errno)))"
            )
        }
        return directory
    }

    /// A TCP port free on 127.0.0.1 now (the kernel's choice for port 0).
    package static func freePort() throws(PostgresClusterError) -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw PostgresClusterError("cannot open a socket to find a free port") }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bind(descriptor, socketAddress, length) == 0 && getsockname(descriptor, socketAddress, &length) == 0
            }
        }
        guard bound else { throw PostgresClusterError("cannot bind a socket to find a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Runs `tool`, as `user` when given (through runuser); a failure carries the tool's output and the server log.
    ///
    /// posix_spawn and waitpid rather than Foundation's Process, whose waitUntilExit can miss the exit when called
    /// from a concurrency thread; the output goes to a file, not a pipe, since the server pg_ctl starts inherits it.
    private static func run(
        _ tool: String,
        _ arguments: [String],
        as user: (name: String, uid: uid_t, gid: gid_t)?,
        log: String
    ) throws(PostgresClusterError) {
        let command = user.map { ["/usr/sbin/runuser", "-u", $0.name, "--", tool] } ?? [tool]
        let argv = (command + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let outputPath = NSTemporaryDirectory() + "/tinyfleet-pg-output-\(UUID().uuidString)"
        defer { unlink(outputPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        var pid = pid_t()
        let spawned = posix_spawn(&pid, command[0], &actions, nil, argv, environ)
        guard spawned == 0 else {
            throw PostgresClusterError("cannot run \(command[0]): \(String(cString: strerror(spawned)))")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exited = status & 0x7f == 0
        let code = (status >> 8) & 0xff
        guard !exited || code != 0 else { return }
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        let serverLog = (try? String(contentsOfFile: log, encoding: .utf8)) ?? "(no server log)"
        throw PostgresClusterError(
            "\(([tool] + arguments).joined(separator: " ")) failed (status \(status)):\n\(text)\n"
                + "server log \(log):\n\(serverLog)"
        )
    }

    nonisolated(unsafe) private static var stopAtExit:
        (pgCtl: String, data: String, directory: String, user: (name: String, uid: uid_t, gid: gid_t)?)?

    private static func stopRegistered() {
        guard let stop = stopAtExit else { return }
        stopAtExit = nil
        try? run(stop.pgCtl, ["-D", stop.data, "-m", "immediate", "-w", "stop"], as: stop.user, log: "/dev/null")
        try? FileManager.default.removeItem(atPath: stop.directory)
    }
}
