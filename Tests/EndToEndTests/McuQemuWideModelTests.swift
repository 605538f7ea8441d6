import Foundation
import Testing

/// Issue 10's "peak RAM during delta apply the same for the 52 KB digits model and for a 1 MB model", on the
/// Cortex-M4 under QEMU (Examples/mcu-qemu/widemodel.sh, with this build's programs): the firmware built with two
/// 1 MiB model slots (`MCU_QEMU_SLOTS=1MiB`) installs digits-mlp v1 and v2, then, on a new fleet and flash file,
/// tools/wide-model.py's 1,025,242-byte wide-mlp v1 in full and v2 as a stream delta through the gateway; both v2s are
/// active bit-exact and classify the row as its label.
extension EndToEnd {
    @Suite struct McuQemuWideModelTests {
        /// The kit's RAM as the budget counts it (.data + .bss, the deepest stack mark, leaf state, installer work) is
        /// the same for both models within 64 B, and within the 8 KiB: 7,646 to 7,666 B for either model
        /// (.data + .bss 180 B, leaf 1,304 B, installer work 3,398 B; the deepest mark is the enrolment's Ed25519
        /// signature, 2,764 to 2,784 B: a SysTick interrupt landing at the deepest point adds up to 36 B, whichever
        /// the model). The v2 delta install's own mark (this firmware paints its stack again at the install's first
        /// slot page and after each mark it prints) is the same too: 1,444 B for both, its check (SHA-256 and
        /// classification) 2,416 B. The delta is a small part of the wide file: 13,735 B of 1,025,242.
        @Test func aOneMegabyteModelInstallsAsADeltaWithTheDigitsModelsKitRAM() async throws {
            let (status, output) = try await McuQemuScript.run("widemodel.sh")
            #expect(status == 0, "\(output)")
            #expect(output.contains("wide-mlp v2 installed as a delta, kit RAM the same as digits-mlp's"), "\(output)")
            let digits = section(output, "digits-mlp")
            let wide = section(output, "wide-mlp")
            for (model, lines) in [("digits-mlp", digits), ("wide-mlp", wide)] {
                #expect(lines.contains("installed \(model) v2 int8"), "\(output)")
                #expect(lines.contains("classified digit: class 1 (row label 1)"), "\(output)")
            }
            // The wide model's slot line: `active slot 1: wide-mlp v2 int8, LENGTH bytes at OFFSET, sha256 HEX`
            // (widemodel.sh checked HEX and the flash file against the published v2).
            let length = number(after: "active slot 1: wide-mlp v2 int8, ", in: wide)
            #expect((length ?? 0) > 1_000_000, "\(output)")
            // `fleetctl transfers: v1 full N B on the wire, v2 delta D B on the wire (the full file F B, Z B as zlib)`.
            let delta = number(after: "v2 delta ", in: wide)
            let file = number(after: "(the full file ", in: wide)
            #expect(delta != nil && file != nil, "\(output)")
            if let delta, let file {
                #expect(delta * 20 < file, "\(output)")
            }

            let size = try await McuQemuScript.run("size.sh", environment: ["MCU_QEMU_SLOTS": "1MiB"])
            #expect(size.status == 0, "\(size.output)")
            let digitsRAM = McuQemuScript.kitRAM(run: digits, size: size.output)
            let wideRAM = McuQemuScript.kitRAM(run: wide, size: size.output)
            #expect((wideRAM ?? .max) <= McuQemuScript.ramBudget, "\(output)\n\(size.output)")
            #expect((digitsRAM ?? .max) <= McuQemuScript.ramBudget, "\(output)\n\(size.output)")
            if let digitsRAM, let wideRAM {
                #expect(abs(wideRAM - digitsRAM) <= 64, "\(output)\n\(size.output)")
            }
            let state = McuQemuScript.kitState(wide)
            #expect(state != nil && state == McuQemuScript.kitState(digits), "\(output)")
            // The marks of each run: the enrolment, v1's install, v2's (delta) install (and `authenticated` if the
            // leaf reconnected); the summary's `MODEL: kit RAM ...; v2 delta install's stack mark N B` gives v2's.
            let digitsMarks = McuQemuScript.stackMarks(digits)
            let wideMarks = McuQemuScript.stackMarks(wide)
            #expect(digitsMarks.count >= 3 && wideMarks.count >= 3, "\(output)")
            #expect(wideMarks.allSatisfy { $0 <= 3_000 } && digitsMarks.allSatisfy { $0 <= 3_000 }, "\(output)")
            let summary = output.split(separator: "\n").filter { $0.contains(": kit RAM ") }.map(String.init)
            let mark = "v2 delta install's stack mark "
            let digitsDelta = summary.first { $0.hasPrefix("digits-mlp:") }.flatMap { number(after: mark, in: $0) }
            let wideDelta = summary.first { $0.hasPrefix("wide-mlp:") }.flatMap { number(after: mark, in: $0) }
            #expect(digitsDelta != nil && wideDelta != nil, "\(output)")
            if let digitsDelta, let wideDelta {
                #expect(abs(wideDelta - digitsDelta) <= 64, "\(output)")
            }
        }

        /// The lines of widemodel.sh's section for `model`: from its `== MODEL (...)` line to the next `== ` line.
        func section(_ output: String, _ model: String) -> String {
            var lines: [Substring] = []
            var inside = false
            for line in output.split(separator: "\n") {
                if line.hasPrefix("== ") {
                    inside = line.hasPrefix("== \(model) ")
                } else if inside {
                    lines.append(line)
                }
            }
            return lines.joined(separator: "\n")
        }

        /// The decimal number right after the first `prefix` in `text`, or nil.
        func number(after prefix: String, in text: String) -> Int? {
            guard let range = text.range(of: prefix) else { return nil }
            return Int(text[range.upperBound...].prefix { $0.isNumber })
        }
    }
}
