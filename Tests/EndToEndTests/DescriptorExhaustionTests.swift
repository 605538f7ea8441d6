import Foundation
import NIOCore
import NIOPosix
import Testing

/// A coordinator out of file descriptors logs it, keeps serving, does not spin on accept(2), and accepts again
/// once descriptors are free. Its limit is lowered with `prlimit` (util-linux) after it has started.
extension EndToEnd {
    @Suite(.serialized) struct DescriptorExhaustionTests {
        @Test func outOfDescriptorsTheCoordinatorLogsPausesAndRecovers() async throws {
            let fleet = try Fleet("exhaustion")
            defer { fleet.cleanUp() }
            try await fleet.startCoordinator()
            let coordinator = try #require(fleet.coordinator)
            // Warm up what the coordinator opens lazily (SQLite readers) before the limit is lowered.
            _ = try await fleet.fleetctl(["devices", "--data-dir", fleet.coordinatorDirectory, "--json"])
            let open = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(coordinator.pid)/fd").count
            let limit = open + 8
            let prlimit = Process()
            prlimit.executableURL = URL(fileURLWithPath: "/usr/bin/prlimit")
            prlimit.arguments = ["--pid", "\(coordinator.pid)", "--nofile=\(limit):\(limit)"]
            try prlimit.run()
            prlimit.waitUntilExit()
            try #require(prlimit.terminationStatus == 0, "prlimit lowered the coordinator's open-files limit")

            // 40 connections that only connect: the coordinator accepts up to its limit, the rest wait in the
            // listen backlog and make accept(2) fail with EMFILE.
            var channels: [any Channel] = []
            for _ in 0..<40 {
                channels.append(
                    try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                        .connect(host: "127.0.0.1", port: fleet.port).get()
                )
            }
            #expect(
                try await eventually(timeout: .seconds(10)) { coordinator.log.contains("accept failed") },
                "the coordinator logs that it cannot accept"
            )
            let before = try cpuSeconds(coordinator.pid)
            try await Task.sleep(for: .seconds(2))
            let busy = (try cpuSeconds(coordinator.pid) - before) / 2
            print("coordinator CPU while out of descriptors: \(String(format: "%.1f", busy * 100)) %")
            #expect(busy < 0.25, "no busy loop on accept(2): \(busy * 100) % of a core")
            #expect(coordinator.isRunning)

            // Free the descriptors: the coordinator accepts an administrator again.
            for channel in channels { try? await channel.close() }
            #expect(
                try await eventually(timeout: .seconds(10)) {
                    (try? await fleet.fleetctl([
                        "devices", "--coordinator", "127.0.0.1:\(fleet.port)", "--admin-key",
                        fleet.coordinatorDirectory + "/admin.key", "--json",
                    ])) != nil
                },
                "accepting again after the pause"
            )
            await fleet.stopAll()
        }

        /// User plus system CPU seconds of a process, from /proc/PID/stat.
        private func cpuSeconds(_ pid: Int32) throws -> Double {
            let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
            // Fields after the command name (which may hold spaces) start after the last ')'.
            guard let close = stat.lastIndex(of: ")") else { return 0 }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            // utime and stime are fields 14 and 15 of the line, 12 and 13 after the command name.
            guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
            return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
        }
    }
}
