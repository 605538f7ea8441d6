import Foundation
import Testing

/// Protocol/vectors checked by a second decoder that shares no code with FleetWire:
/// `Protocol/conformance/check_vectors.py`, written from Protocol/SPEC.md alone (standard-library Python).
/// FleetWire's own check of the same files is `GoldenVectorTests`.
@Suite struct IndependentDecoderTests {
    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let vectors = repository.appendingPathComponent("Protocol/vectors")
    static let checker = repository.appendingPathComponent("Protocol/conformance/check_vectors.py")

    /// Runs the checker on `directory`; returns its exit status and output.
    static func check(_ directory: URL) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", checker.path, directory.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output)
    }

    static func vectorFiles() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: vectors.path).filter { $0.hasSuffix(".json") }.sorted()
    }

    @Test func everyVectorDecodesAndEncodesWithTheIndependentDecoder() throws {
        let files = try Self.vectorFiles()
        #expect(
            files.count == 63,
            "one vector per message type of SPEC.md section 4, and startRollout with its optional trailing group"
        )
        let (status, output) = try Self.check(Self.vectors)
        #expect(status == 0, "\(output)")
        for file in files { #expect(output.contains("ok \(file)\n"), "\(file) not checked: \(output)") }
        #expect(output.contains("63 vectors, 62 message types, 0 failure(s)"), "\(output)")
    }

    /// startRollout.json's frame after its length prefix.
    static let startRolloutPayload =
        "460f0a6469676974732d6d6c700204696e74380106726567696f6e026575030a3264c0cf24030000000000000440012a"
        + "000000000000f03f00000000000000409a9999999999a93f000000000000f0bf0332"

    /// The check is not vacuous: a vector whose bytes and fields disagree, in either direction, is reported.
    @Test(arguments: [
        // The frame says maximumVersion 1, the fields still say 2: bytes and fields disagree.
        (
            "hello.json", "000000190101020011666c6565742d6167656e742f302e312e30808040",
            "000000190101010011666c6565742d6167656e742f302e312e30808040"
        ),
        // An over-long varint (80 00 for 0) in place of the shortest form: the decoder must refuse it.
        ("ack.json", "\"frameHex\" : \"000000021301\"", "\"frameHex\" : \"00000003138100\""),
        // startRollout with a trailing group that holds only its absent values (-1, -1, 0): a second form of the
        // 17-field message, which SPEC.md section 3 refuses.
        (
            "startRollout.json", "\"frameHex\" : \"00000052\(startRolloutPayload)\"",
            "\"frameHex\" : \"00000063\(startRolloutPayload)000000000000f0bf000000000000f0bf00\""
        ),
        // A field the SPEC does not have: message → bytes fails.
        ("heartbeat.json", "\"fields\" : {\n\n    }", "\"fields\" : {\"extra\": 1}"),
    ])
    func aCorruptedVectorIsReported(file: String, original: String, replacement: String) throws {
        let scratch = FileManager.default.temporaryDirectory
            .appendingPathComponent("conformance-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        for name in try Self.vectorFiles() {
            try FileManager.default.copyItem(
                at: Self.vectors.appendingPathComponent(name),
                to: scratch.appendingPathComponent(name)
            )
        }
        let target = scratch.appendingPathComponent(file)
        let text = try String(contentsOf: target, encoding: .utf8)
        #expect(text.contains(original), "the sample text to corrupt is in \(file)")
        try text.replacingOccurrences(of: original, with: replacement).write(
            to: target,
            atomically: true,
            encoding: .utf8
        )
        let (status, output) = try Self.check(scratch)
        #expect(status == 1, "\(output)")
        let name = String(file.dropLast(".json".count))
        #expect(output.contains("FAIL \(name):"), "\(output)")
    }
}
