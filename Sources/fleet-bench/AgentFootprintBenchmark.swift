import ArgumentParser
import Foundation

/// `fleet-bench agent-footprint`: the idle cost of one real release `fleet-agent` on the edge box.
struct AgentFootprintBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent-footprint",
        abstract: "Idle RSS, CPU and wake-ups of a real fleet-agent, its binary size and run-time libraries.",
        discussion: """
            Starts a coordinator and one fleet-agent enrolled with a fresh token, lets it settle, then measures it \
            while idle (it only sends its heartbeats). Reference (shared/README.md is silent on it; from the \
            issue): the Mender client 3.4 daemon idles at 32 MB RSS with a 10 MB binary. Goal: <= 16 MB RSS idle, \
            no busy polling.
            """
    )

    @Option(help: "Time to let the agent enrol and settle before measuring.")
    var settle: String = "20s"

    @Option(help: "Idle window measured.")
    var idle: String = "20s"

    @Option(help: "Heartbeat interval announced by the coordinator.")
    var heartbeatInterval: String = "10s"

    @Option(help: "Directory holding the release fleet-agent and fleet-coordinator (default: next to fleet-bench).")
    var binDir: String?

    @Flag(help: "Print the results as JSON.")
    var json = false

    struct Library: Codable {
        var name: String
        var path: String
        var bytes: Int
    }

    struct Result: Codable {
        var enrolled: Bool
        var deviceOnline: Bool
        var rssKiB: Int
        var peakRSSKiB: Int
        /// Of the RSS: anonymous memory (heap, stacks) and file-backed pages (mapped binaries and libraries).
        var anonymousRSSKiB: Int
        var fileRSSKiB: Int
        /// Proportional set size: private pages plus each shared page divided by the processes that map it.
        var pssKiB: Int
        /// Unique set size: the pages only this process maps (Private_Clean + Private_Dirty), what stopping it frees.
        var ussKiB: Int
        var threads: Int
        var idleSeconds: Double
        var cpuSeconds: Double
        var cpuPercent: Double
        var voluntarySwitches: Int
        var involuntarySwitches: Int
        var wakeupsPerSecond: Double
        var binaryBytes: Int
        /// The same binary after `strip` (release builds keep debug info by default).
        var strippedBinaryBytes: Int?
        var libraries: [Library]
        var librariesBytes: Int
        var systemLibrariesBytes: Int
    }

    func run() async throws {
        raiseOpenFilesLimit()
        let binDirectory = executableDirectory(override: binDir)
        let agentPath = binDirectory + "/fleet-agent"
        guard FileManager.default.isExecutableFile(atPath: agentPath) else {
            throw BenchError("no fleet-agent in \(binDirectory): build it with -c release first")
        }
        let directory = try makeTemporaryDirectory("fleet-bench-agent")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let result = try await measure(binDirectory: binDirectory, directory: directory)
            ChildProcess.killAll()
            if json { try printJSON(result) } else { print(Self.text(result)) }
        } catch {
            ChildProcess.killAll()
            throw error
        }
    }

    private func measure(binDirectory: String, directory: String) async throws -> Result {
        let harness = CoordinatorHarness(binDirectory: binDirectory, dataDirectory: directory + "/coordinator")
        try FileManager.default.createDirectory(atPath: harness.dataDirectory, withIntermediateDirectories: true)
        let (coordinator, address) = try await harness.start(
            logName: "coordinator",
            heartbeatInterval: heartbeatInterval
        )
        defer { coordinator.stop() }
        let token = try await harness.createToken(at: address, uses: 1)
        let agent = try ChildProcess(
            name: "fleet-agent",
            executable: binDirectory + "/fleet-agent",
            arguments: [
                "--data-dir", directory + "/agent", "--coordinator", address.description, "--token", token,
                "--name", "footprint-agent",
            ],
            stdoutPath: directory + "/agent.stdout",
            stderrPath: directory + "/agent.log"
        )
        defer { agent.stop() }
        progress("agent pid \(agent.pid); settling for \(settle)")
        try await Task.sleep(for: try parseDuration(settle))
        guard agent.isRunning else {
            let log = (try? String(contentsOfFile: agent.stderrPath, encoding: .utf8)) ?? ""
            throw BenchError("fleet-agent exited: \(log.suffix(600))")
        }
        let stats = agent.stats
        let cpuStart = stats.cpuSeconds()
        let switchesStart = stats.contextSwitches()
        let start = ContinuousClock.now
        progress("measuring \(idle) idle")
        try await Task.sleep(for: try parseDuration(idle))
        let seconds = (ContinuousClock.now - start).seconds
        let cpu = stats.cpuSeconds() - cpuStart
        let switchesEnd = stats.contextSwitches()
        let status = stats.status()
        let rollup = stats.memoryRollup()
        let devices = try await harness.deviceCounts(at: address)
        let libraries = try Self.sharedLibraries(of: agentPath(binDirectory))
        let voluntary = switchesEnd.voluntary - switchesStart.voluntary
        return Result(
            enrolled: devices.total == 1,
            deviceOnline: devices.onlineInPage == 1,
            rssKiB: status["VmRSS"] ?? 0,
            peakRSSKiB: status["VmHWM"] ?? 0,
            anonymousRSSKiB: status["RssAnon"] ?? 0,
            fileRSSKiB: status["RssFile"] ?? 0,
            pssKiB: rollup["Pss"] ?? 0,
            ussKiB: (rollup["Private_Clean"] ?? 0) + (rollup["Private_Dirty"] ?? 0),
            threads: status["Threads"] ?? 0,
            idleSeconds: seconds,
            cpuSeconds: cpu,
            cpuPercent: cpu / seconds * 100,
            voluntarySwitches: voluntary,
            involuntarySwitches: switchesEnd.involuntary - switchesStart.involuntary,
            wakeupsPerSecond: Double(voluntary) / seconds,
            binaryBytes: Self.fileSize(agentPath(binDirectory)),
            strippedBinaryBytes: try Self.strippedSize(of: agentPath(binDirectory), scratch: directory),
            libraries: libraries,
            librariesBytes: libraries.reduce(0) { $0 + $1.bytes },
            systemLibrariesBytes: libraries.filter { !$0.path.contains("/swift/") }.reduce(0) { $0 + $1.bytes }
        )
    }

    private func agentPath(_ binDirectory: String) -> String { binDirectory + "/fleet-agent" }

    static func fileSize(_ path: String) -> Int {
        let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        return ((try? FileManager.default.attributesOfItem(atPath: resolved))?[.size] as? Int) ?? 0
    }

    /// Size of a stripped copy of `path`, or nil when `strip` is not installed.
    static func strippedSize(of path: String, scratch: String) throws -> Int? {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/strip") else { return nil }
        let copy = scratch + "/stripped-" + URL(fileURLWithPath: path).lastPathComponent
        try? FileManager.default.removeItem(atPath: copy)
        try FileManager.default.copyItem(atPath: path, toPath: copy)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/strip")
        process.arguments = [copy]
        try process.run()
        process.waitUntilExit()
        defer { try? FileManager.default.removeItem(atPath: copy) }
        return process.terminationStatus == 0 ? fileSize(copy) : nil
    }

    /// The shared libraries the dynamic loader maps for `path`, from `ldd`.
    static func sharedLibraries(of path: String) throws -> [Library] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/ldd")
        process.arguments = [path]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        var libraries: [Library] = []
        for line in output.split(separator: "\n") {
            // "libfoo.so.1 => /lib/x86_64-linux-gnu/libfoo.so.1 (0x...)" or "/lib64/ld-linux-x86-64.so.2 (0x...)"
            let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let name = parts.first else { continue }
            var libraryPath: String?
            if let arrow = parts.firstIndex(of: "=>"), arrow + 1 < parts.count, parts[arrow + 1].hasPrefix("/") {
                libraryPath = String(parts[arrow + 1])
            } else if name.hasPrefix("/") {
                libraryPath = String(name)
            }
            guard let libraryPath else { continue }
            libraries.append(Library(name: String(name), path: libraryPath, bytes: fileSize(libraryPath)))
        }
        return libraries
    }

    /// Two sizes in KiB as `A / B MiB`.
    private static func mebibytes(_ first: Int, _ second: Int) -> String {
        String(format: "%.1f / %.1f MiB", Double(first) / 1024, Double(second) / 1024)
    }

    static func text(_ result: Result) -> String {
        let mebibyte = 1_048_576.0
        var lines = [
            "fleet-agent idle footprint (release build, enrolled: \(result.enrolled), online: \(result.deviceOnline))",
            "",
            renderTable(
                ["", "fleet-agent", "Mender client 3.4 (reference)", "goal"],
                [
                    [
                        "RSS idle", String(format: "%.1f MiB", Double(result.rssKiB) / 1024), "32 MB",
                        "<= 16 MB",
                    ],
                    [
                        "  of which anonymous / file-backed", mebibytes(result.anonymousRSSKiB, result.fileRSSKiB), "-",
                        "-",
                    ],
                    [
                        "private memory idle: USS / PSS", mebibytes(result.ussKiB, result.pssKiB), "-",
                        "<= 8 MiB private",
                    ],
                    ["peak RSS (VmHWM)", String(format: "%.1f MiB", Double(result.peakRSSKiB) / 1024), "-", "-"],
                    [
                        "CPU while idle",
                        String(
                            format: "%.3f %% (%.0f ms in %.0f s)",
                            result.cpuPercent,
                            result.cpuSeconds * 1000,
                            result.idleSeconds
                        ),
                        "-", "no busy polling",
                    ],
                    [
                        "wake-ups (voluntary context switches)",
                        String(
                            format: "%.1f/s (%d in %.0f s; %d involuntary)",
                            result.wakeupsPerSecond,
                            result.voluntarySwitches,
                            result.idleSeconds,
                            result.involuntarySwitches
                        ),
                        "-", "-",
                    ],
                    ["threads", "\(result.threads)", "-", "-"],
                    [
                        "release binary (as built, with debug info)",
                        String(format: "%.1f MiB", Double(result.binaryBytes) / mebibyte), "10 MB", "-",
                    ],
                    [
                        "release binary, stripped",
                        result.strippedBinaryBytes.map { String(format: "%.1f MiB", Double($0) / mebibyte) } ?? "-",
                        "10 MB", "-",
                    ],
                    [
                        "shared libraries at run time",
                        String(
                            format: "%.1f MiB in %d files",
                            Double(result.librariesBytes) / mebibyte,
                            result.libraries.count
                        ),
                        "-", "-",
                    ],
                ]
            ),
            "",
            "Shared libraries (ldd):",
        ]
        for library in result.libraries {
            lines.append(
                "  " + library.name.padding(toLength: 34, withPad: " ", startingAt: 0) + " "
                    + formatBytes(library.bytes) + "  " + library.path
            )
        }
        lines.append(
            String(
                format: "  of which the Swift runtime (Foundation, ICU, stdlib, dispatch): %.1f MiB; system: %.1f MiB",
                Double(result.librariesBytes - result.systemLibrariesBytes) / mebibyte,
                Double(result.systemLibrariesBytes) / mebibyte
            )
        )
        return lines.joined(separator: "\n")
    }
}
