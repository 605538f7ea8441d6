import Foundation
import Testing

/// `Examples/mcu-qemu/run.sh`, as its README line says, with this build's programs on PATH: a coordinator, a
/// gateway agent and the Cortex-M4 firmware under QEMU; the leaf installs digits-mlp v2 and classifies a digit.
extension EndToEnd {
    @Suite struct McuQemuRecipeTests {
        static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Examples/mcu-qemu/run.sh").path

        @Test func theFirmwareInstallsVersionTwoThroughTheGatewayAndClassifies() throws {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/bash")
            process.arguments = [Self.script]
            var environment = ProcessInfo.processInfo.environment
            environment["PATH"] = Binaries.directory + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
            process.environment = environment
            process.currentDirectoryURL = URL(fileURLWithPath: Self.script).deletingLastPathComponent()
                .deletingLastPathComponent().deletingLastPathComponent()
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = pipe
            try process.run()
            let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationStatus == 0, "\(output)")
            #expect(output.contains("installed digits-mlp v2"), "\(output)")
        }
    }
}
