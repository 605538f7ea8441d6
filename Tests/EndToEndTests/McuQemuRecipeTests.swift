import Foundation
import Testing

/// `Examples/mcu-qemu/run.sh`, as its README line says, with this build's programs on PATH: a coordinator, a
/// gateway agent and the Cortex-M4 firmware under QEMU; the leaf installs digits-mlp v2 and classifies a digit.
extension EndToEnd {
    @Suite struct McuQemuRecipeTests {
        @Test func theFirmwareInstallsVersionTwoThroughTheGatewayAndClassifies() throws {
            let (status, output) = try McuQemuScript.run("run.sh")
            #expect(status == 0, "\(output)")
            #expect(output.contains("installed digits-mlp v2"), "\(output)")
        }
    }
}
