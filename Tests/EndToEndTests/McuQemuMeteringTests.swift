import Foundation
import Testing

/// Pay-per-query on the Cortex-M4 leaf under QEMU (Examples/mcu-qemu/metering.sh, with this build's programs): the
/// grant reaches the leaf through the gateway, the leaf answers the application's queries on UART1 within it and
/// refuses the rest, and the coordinator bills the signed receipts the leaf sent.
extension EndToEnd {
    @Suite struct McuQemuMeteringTests {
        /// A grant of 20 queries at 1.50/1000: of 25 queries, 10 before a power cut (QEMU killed, restarted on its
        /// flash file) and 15 after, the leaf answers exactly 20 (class 1, the row's label) and refuses 5 with
        /// `quota-exhausted`: its grant and counters survive the restart. `fleetctl usage --json` shows 20 queries,
        /// 0 remaining, 0.03 (30,000 micro-units) and no tamper flag.
        @Test func theLeafAnswersItsGrantRefusesTheRestAndIsBilledExactly() async throws {
            let (status, output) = try await McuQemuScript.run("metering.sh", ["20", "5"])
            #expect(status == 0, "\(output)")
            #expect(
                output.contains("leaf: 20 queries answered (10 before a power cut), 5 refused (quota-exhausted)"),
                "\(output)"
            )
            #expect(
                output.contains("fleetctl usage: leaf-qemu digits-mlp queries 20, remaining 0, amount 0.03 (30000"),
                "\(output)"
            )
            // The stack high-water marks the firmware prints (enrolment, install, grants held, receipts
            // acknowledged, and the same after the restart, which verifies the stored grant in the leaf's first
            // poll): 2,784 B, the enrolment's Ed25519 signature (3,696 B before branch tinyram3, when the start-up's
            // read of the installed model's record was the deepest chain; 8,212 B when the grant was verified inside
            // TinyLeaf.start, under the start-up frames).
            let marks = McuQemuScript.stackMarks(output)
            #expect(marks.count >= 5 && marks.allSatisfy { $0 <= 3_000 }, "\(marks)")
            // The kit's RAM as run.sh's test counts it, with the deepest mark of this run, restart included:
            // 7,666 B (8,578 B before branch tinyram3, 9,974 B before branch tinyram2), within the 8 KiB.
            // The meter's buffer (2,254 B: issue 11's counters, ledger and grants) is the integrator's and not
            // counted.
            let size = try await McuQemuScript.run("size.sh")
            let ram = McuQemuScript.kitRAM(run: output, size: size.output)
            #expect((ram ?? .max) <= McuQemuScript.ramBudget, "\(output)\n\(size.output)")
        }
    }
}
