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
            // acknowledged): the deepest is after the restart that verifies the stored grant in the leaf's first
            // poll: 3,696 B, the same after Ed25519 decoded and added points in place, so the deepest chain is
            // elsewhere (8,212 B when the grant was verified inside TinyLeaf.start, under the start-up frames).
            let marks = McuQemuScript.stackMarks(output)
            #expect(marks.count >= 5 && marks.allSatisfy { $0 <= 3_750 }, "\(marks)")
            // The kit's RAM as run.sh's test counts it, with the metering restart's mark: 8,578 B (9,974 B before
            // branch tinyram2). Still over the 8 KiB budget by 386 B: this pins today's figure so that it
            // cannot grow; the budget itself is the assertion once it is met. The meter's buffer (2,254 B: issue
            // 11's counters, ledger and grants) is the integrator's and not counted.
            let size = try await McuQemuScript.run("size.sh")
            let ram = McuQemuScript.kitRAM(run: output, size: size.output)
            #expect((ram ?? .max) <= 8_650, "\(output)\n\(size.output)")
        }
    }
}
