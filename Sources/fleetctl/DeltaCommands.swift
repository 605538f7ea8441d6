import ArgumentParser
import FleetCommandLine
import FleetControl
import FleetDelta
import Foundation

extension FleetCtl {
    /// `fleetctl delta encode|apply`: the model delta codec as a standalone tool, like xdelta3's command line.
    struct Delta: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Encode or apply a model delta (tensor-aware for safetensors, generic otherwise).",
            subcommands: [Encode.self, Apply.self]
        )

        struct Encode: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Write a patch that turns OLD into NEW.")
            @Option(help: "The version the receiver has.") var from: String
            @Option(help: "The version to deliver.") var to: String
            @Option(help: "Where to write the patch.") var out: String
            @Flag(help: "Print a JSON summary.") var json = false
            @Flag(
                help: "Write a stream-mode patch (DELTA.md section 12), applied with constant RAM by microcontrollers."
            )
            var stream = false

            func run() async throws {
                let old = try readFile(from)
                let new = try readFile(to)
                let (patch, stats) = try DeltaCodec.encodeWithStats(
                    old: old,
                    new: new,
                    options: DeltaOptions(streaming: stream)
                )
                try writeFile(patch, to: out)
                let summary = DeltaSummary(
                    from: from,
                    to: to,
                    patch: out,
                    oldBytes: old.count,
                    newBytes: new.count,
                    patchBytes: patch.count,
                    mode: stats.mode.rawValue
                )
                try emit(summary, json: json) { summary in
                    "\(summary.patch): \(summary.patchBytes) bytes for a \(summary.newBytes)-byte target "
                        + String(
                            format: "(%.1f%%, %@)",
                            100 * Double(summary.patchBytes) / Double(max(summary.newBytes, 1)),
                            summary.mode
                        )
                }
            }
        }

        struct Apply: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Rebuild NEW from OLD and a patch (bit-exact, verified)."
            )
            @Option(help: "The version the patch was made against.") var from: String
            @Option(help: "The patch.") var patch: String
            @Option(help: "Where to write the result.") var out: String
            @Option(help: "Refuse output larger than this many bytes.") var maxOutput: Int = 256 << 20

            func run() async throws {
                let rebuilt = try DeltaCodec.apply(
                    old: try readFile(from),
                    patch: try readFile(patch),
                    limits: DeltaLimits(maximumOutputSize: maxOutput)
                )
                try writeFile(rebuilt, to: out)
                print("\(out): \(rebuilt.count) bytes")
            }
        }
    }
}

struct DeltaSummary: Codable {
    var from: String
    var to: String
    var patch: String
    var oldBytes: Int
    var newBytes: Int
    var patchBytes: Int
    var mode: String
}

func readFile(_ path: String) throws -> [UInt8] {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw ValidationError("cannot read \(path)")
    }
    return Array(data)
}

/// Writes atomically: a temporary file beside the target, then a rename.
func writeFile(_ bytes: [UInt8], to path: String) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: path), options: .atomic)
}
