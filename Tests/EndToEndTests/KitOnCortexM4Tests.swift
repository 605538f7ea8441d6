import Foundation
import Testing

/// FleetTinyKit's crypto on a real Cortex-M4 instruction set: `Scripts/tinykit-crypto-qemu/run.sh` compiles the
/// kit with Embedded Swift for armv7em, links it with Debian's arm-none-eabi toolchain and runs it on QEMU's
/// `mps2-an386`, where it must reproduce RFC 8032 TEST 3, SHA-256 of the empty message and the check of a
/// host-signed manifest. The host tests cannot see a miscompilation for the target (two were found this way);
/// this one can. `.ci/run` installs `qemu-system-arm`, `gcc-arm-none-eabi` and `libnewlib-arm-none-eabi`.
extension EndToEnd {
    @Suite struct KitOnCortexM4Tests {
        static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Scripts/tinykit-crypto-qemu/run.sh").path

        @Test func signaturesHashesAndManifestsCheckOutOnTheCortexM4() async throws {
            let (status, output) = try await offThePool { try runScript("-c", ["exec bash \"$0\"", Self.script]) }
            #expect(status == 0, "\(output)")
            #expect(
                output.contains("RFC 8032 TEST 3, SHA-256(\"\") and a signed manifest ok on the Cortex-M4"),
                "\(output)"
            )
            // The figures the README quotes come from this run's output.
            #expect(output.contains("verify instructions:"), "\(output)")
        }
    }
}
