import Foundation
import Testing

/// `Examples/mcu-qemu/cycles.sh`, which prints the README's instruction counts: on the Cortex-M4 under QEMU the kit
/// rebuilds digits-mlp v2 exactly from v1 and the stream patch, and classifies the row as its label.
extension EndToEnd {
    @Suite struct McuQemuCyclesTests {
        @Test func theDeltaAndInferenceCountsComeFromAnExactRebuildAndARightClass() async throws {
            let (status, output) = try await McuQemuScript.run("cycles.sh")
            #expect(status == 0, "\(output)")
            #expect(output.contains("delta apply v1 -> v2"), "\(output)")
            #expect(output.contains("one inference (digits int8 v2, one row): "), "\(output)")
            #expect(output.contains("predicted class 1 (row label 1)"), "\(output)")
        }
    }
}
