import Foundation
import Testing

/// The Cortex-M4 leaf under QEMU against a dishonest carrier and power cuts (Examples/mcu-qemu/attacks.sh and
/// powercut.sh, with this build's programs): each script checks, from the firmware's console, its flash file and
/// `fleetctl devices`, that the leaf keeps running a published model bit-exact and still classifies.
extension EndToEnd {
    @Suite(.serialized) struct McuQemuAttackTests {
        /// A flipped manifest byte, a tampered payload with a matching transport hash, and a replayed older
        /// manifest are each refused by the leaf, which keeps running the model it had.
        @Test func theLeafRefusesABadSignatureATamperedPayloadAndAReplayedManifest() async throws {
            let (status, output) = try await McuQemuScript.run("attacks.sh")
            #expect(status == 0, "\(output)")
            #expect(output.contains("refused a manifest with a bad signature: refused v2: bad-signature"), "\(output)")
            #expect(output.contains("refused a tampered payload: refused v2:"), "\(output)")
            #expect(output.contains("refused a replayed older manifest: refused v1: rollback"), "\(output)")
            #expect(output.contains("attacks refused: bad signature, tampered payload, replayed manifest"), "\(output)")
        }

        /// QEMU killed with SIGKILL 20 times during transfers and installs: every restart runs the old or the new
        /// model bit-exact and classifies, and the leaf ends on the last version.
        @Test func twentyPowerCutsLeaveTheLeafOnTheRightModelBitExact() async throws {
            let (status, output) = try await McuQemuScript.run("powercut.sh", ["20"])
            #expect(status == 0, "\(output)")
            #expect(output.contains("power cuts: 20, every restart on the right model"), "\(output)")
            #expect(output.contains("during the transfer and install"), "\(output)")
        }
    }
}
