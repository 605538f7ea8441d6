import Foundation
import Testing

/// `Scripts/install.sh` puts the three programs, their systemd units and man pages into a prefix, and the
/// programs answer `--version` with the one version constant. The test installs this build's programs (the
/// release build itself is the script's default, too slow for the suite).
extension EndToEnd {
    @Suite(.serialized) struct InstallScriptTests {
        static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        static let programs = ["fleet-coordinator", "fleet-agent", "fleetctl"]

        func run(_ arguments: [String]) async throws -> (status: Int32, output: String) {
            try await offThePool { try runScript(Self.root + "/Scripts/install.sh", arguments) }
        }

        @Test func installsProgramsUnitsAndManPagesIntoAPrefix() async throws {
            let scratch = try makeTemporaryDirectory("tinyfleet-install")
            defer { try? FileManager.default.removeItem(atPath: scratch) }
            let prefix = scratch + "/prefix"
            // Man pages as the plugin writes them (one per command); the script installs what it is given.
            let pages = scratch + "/man"
            try FileManager.default.createDirectory(atPath: pages, withIntermediateDirectories: true)
            for page in ["fleetctl.1", "fleetctl.model.1", "fleet-agent.1", "fleet-coordinator.1", "other.1"] {
                try ".TH \(page)\n".write(toFile: pages + "/" + page, atomically: true, encoding: .utf8)
            }

            let result = try await run(["--prefix", prefix, "--bin-dir", Binaries.directory, "--man-dir", pages])
            #expect(result.status == 0, "\(result.output)")
            let versions = try Self.programs.map { program -> String in
                let path = prefix + "/bin/" + program
                #expect(FileManager.default.isExecutableFile(atPath: path), "\(path)")
                let process = Process()
                process.executableURL = URL(fileURLWithPath: path)
                process.arguments = ["--version"]
                let pipe = Pipe()
                process.standardOutput = pipe
                try process.run()
                let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                process.waitUntilExit()
                #expect(process.terminationStatus == 0)
                return text.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            #expect(Set(versions).count == 1 && versions[0].split(separator: ".").count == 3, "\(versions)")

            for unit in ["tinyfleet-coordinator.service", "tinyfleet-agent.service"] {
                let text = try String(contentsOfFile: prefix + "/lib/systemd/system/" + unit, encoding: .utf8)
                #expect(text.contains("ExecStart=\(prefix)/bin/fleet-"), "\(unit): \(text)")
                #expect(!text.contains("@BINDIR@") && text.contains("StateDirectoryMode=0700"))
            }
            let installedPages = try FileManager.default.contentsOfDirectory(atPath: prefix + "/share/man/man1")
            #expect(Set(installedPages) == ["fleetctl.1", "fleetctl.model.1", "fleet-agent.1", "fleet-coordinator.1"])

            // A mistake is named, with what to do.
            let wrong = try await run(["--prefix", "relative/path", "--bin-dir", Binaries.directory, "--no-man"])
            #expect(wrong.status == 1 && wrong.output.contains("--prefix must be an absolute path"), "\(wrong)")
        }

        /// The README shows the unit files as installed in /usr/local: the same lines as Packaging/systemd/.
        @Test func theReadmeShowsThePackagedUnits() throws {
            let readme = try String(contentsOfFile: Self.root + "/README.md", encoding: .utf8)
            for unit in ["tinyfleet-coordinator.service", "tinyfleet-agent.service"] {
                let file = try String(contentsOfFile: Self.root + "/Packaging/systemd/" + unit, encoding: .utf8)
                let lines = file.split(separator: "\n").filter { !$0.hasPrefix("#") }
                    .map { $0.replacingOccurrences(of: "@BINDIR@", with: "/usr/local/bin") }
                let block = "```ini\n# \(unit)\n" + lines.joined(separator: "\n") + "\n```"
                #expect(readme.contains(block), "README's \(unit) differs from Packaging/systemd/\(unit)")
            }
        }
    }
}
