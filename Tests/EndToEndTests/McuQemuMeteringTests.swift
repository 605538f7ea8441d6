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
            // acknowledged): the deepest, 8,212 B, is at a restart that verifies the stored grant inside
            // TinyLeaf.start (6,396 B at enrolment and install, as run.sh).
            let marks = output.split(separator: "\n").compactMap { line -> Int? in
                guard let range = line.range(of: "stack high-water mark: ") else { return nil }
                return Int(line[range.upperBound...].prefix { $0.isNumber })
            }
            #expect(marks.count >= 5 && marks.allSatisfy { $0 <= 8_400 }, "\(marks)")
        }
    }
}
