import Foundation

/// Runs a script of Examples/mcu-qemu from the repository root with this build's programs on PATH, and returns its
/// exit status and its output (standard output and error together).
enum McuQemuScript {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// `environment` adds variables (`MCU_QEMU_FIRMWARE=c`: the firmware written in C).
    static func run(
        _ name: String,
        _ arguments: [String] = [],
        environment: [String: String] = [:]
    ) async throws -> (status: Int32, output: String) {
        try await offThePool { try runBlocking("Examples/mcu-qemu/\(name)", arguments, environment) }
    }

    /// Runs the script at `path` (relative to the repository root) as ``run(_:_:)`` runs those of Examples/mcu-qemu.
    static func run(path: String, _ arguments: [String] = []) async throws -> (status: Int32, output: String) {
        try await offThePool { try runBlocking(path, arguments, [:]) }
    }

    private static func runBlocking(
        _ path: String,
        _ arguments: [String],
        _ extra: [String: String]
    ) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [root.appendingPathComponent(path).path] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["PATH"] = Binaries.directory + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
        environment.merge(extra) { _, new in new }
        process.environment = environment
        process.currentDirectoryURL = root
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output)
    }

    /// The stack high-water marks the firmware printed (`stack high-water mark: N bytes`), in order.
    static func stackMarks(_ output: String) -> [Int] {
        output.split(separator: "\n").compactMap { line -> Int? in
            guard let range = line.range(of: "stack high-water mark: ") else { return nil }
            return Int(line[range.upperBound...].prefix { $0.isNumber })
        }
    }

    /// The kit's own state allocated at start-up, as the firmware printed it (`kit state: leaf L bytes, installer
    /// work W bytes`): L + W, or nil when the line is missing.
    static func kitState(_ output: String) -> Int? {
        guard let line = output.split(separator: "\n").first(where: { $0.hasPrefix("kit state: ") }) else {
            return nil
        }
        let numbers = line.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
        return numbers.count == 2 ? numbers[0] + numbers[1] : nil
    }

    /// Issue 10's RAM budget for the kit (8 KiB), which ``kitRAM(run:size:)`` is held to.
    static let ramBudget = 8 * 1024

    /// The RAM the budget counts for the kit: .data + .bss (`size.sh`'s `ram=`), the deepest stack mark and
    /// the kit's start-up state; nil when one of them is missing.
    static func kitRAM(run output: String, size sizeOutput: String) -> Int? {
        let last = sizeOutput.split(separator: "\n").last ?? ""
        guard let ram = last.split(separator: " ").last.flatMap({ Int($0.dropFirst("ram=".count)) }),
            last.hasPrefix("flash="), let deepest = stackMarks(output).max(), let state = kitState(output)
        else { return nil }
        return ram + deepest + state
    }
}
