import Foundation

/// The coordinator table, with the mosquitto reference beside it.
enum CoordinatorReportFormatter {
    /// From `shared/README.md`: measured earlier on this kind of machine (2 cores, loopback).
    static let mosquittoReference = [
        "mosquitto 2.0.11 (reference, measured earlier on this box)", "19993", "19993", "0", "0.120", "0.350",
        "2.100", "742 B", "6.0", "2000",
    ]

    static func text(rows: [CoordinatorRow], exhaustion: ExhaustionResult?, interval: String) -> String {
        let header = ["", "N", "held", "failures", "p50 ms", "p99 ms", "p99.9 ms", "RSS/conn", "CPU %", "hb/s"]
        var table = rows.map { row in
            [
                "TinyFleet coordinator, \(row.count) agents (\(row.processes) load-gen)", "\(row.count)", "\(row.held)",
                "\(row.failureTotal)", formatMs(row.p50Milliseconds), formatMs(row.p99Milliseconds),
                formatMs(row.p999Milliseconds), "\(row.rssPerConnectionBytes) B",
                String(format: "%.1f", row.coordinatorCPUPercent), String(format: "%.0f", row.heartbeatsPerSecond),
            ]
        }
        table.append(mosquittoReference)
        var lines = [
            "Coordinator under N simulated agents (real TCP on 127.0.0.1, heartbeat every \(interval), "
                + "spread evenly; percentiles over the measured window)",
            "",
            renderTable(header, table),
            "",
            "Goals: every agent held; p99 <= 1 ms; <= 4 KiB RSS per idle connection (stretch 2 KiB); "
                + "<= 15 % of one core at 2,000 heartbeats/s.",
            "",
        ]
        for row in rows {
            lines.append("N = \(row.count):")
            lines.append(
                "  enrolment pass: \(row.enrolled) enrolled in " + String(format: "%.1f s", row.enrolSeconds)
                    + String(format: " (%.0f/s)", Double(row.enrolled) / max(row.enrolSeconds, 0.001))
                    + "; reconnect (authenticate + state report): \(row.established) in "
                    + String(format: "%.1f s", row.reconnectSeconds)
            )
            lines.append(
                "  coordinator RSS \(row.rssBeforeKiB) KiB before -> \(row.rssAfterKiB) KiB with \(row.held) held; "
                    + "\(row.coordinatorOpenFiles) open files, \(row.coordinatorThreads) threads"
            )
            lines.append(
                "  \(row.samples) round trips measured, max " + formatMs(row.maxMilliseconds) + " ms; "
                    + "load generators used " + String(format: "%.1f", row.loadGeneratorCPUPercent) + " % of one core"
            )
            for (kind, count) in row.failures.sorted(by: { $0.key < $1.key }) {
                lines.append("  failure \(kind): \(count)")
            }
            for (message, count) in row.logWarnings.sorted(by: { $0.value > $1.value }).prefix(5) {
                lines.append("  coordinator log \(count)x \(message)")
            }
        }
        if let failure = exhaustion?.failure {
            lines.append("")
            lines.append("Descriptor exhaustion check FAILED to complete: \(failure)")
        } else if let exhaustion {
            lines.append("")
            lines.append(
                "Descriptor exhaustion (after the largest N, \(exhaustion.extraConnected) extra raw connections):"
            )
            lines.append(
                "  coordinator open files \(exhaustion.openFilesBefore) -> \(exhaustion.openFilesDuring) "
                    + "(limit \(exhaustion.openFilesLimit)); extra connects failed: \(exhaustion.extraFailed)"
            )
            lines.append(
                "  'accept failed' logged \(exhaustion.acceptFailedLogLines) times"
                    + (exhaustion.firstAcceptFailedLine.map { ": \($0)" } ?? "")
            )
            lines.append(
                "  coordinator CPU during the check: " + String(format: "%.1f", exhaustion.coordinatorCPUPercent)
                    + " % of one core; busiest thread \(exhaustion.busiestThread) "
                    + String(format: "%.1f", exhaustion.busiestThreadCPUPercent)
                    + " % (a spinning accept loop shows ~100 %)"
            )
            if let accepts = exhaustion.acceptCallsIn3Seconds {
                lines.append("  system calls: \(accepts)")
            }
            lines.append(
                "  existing admin connection: \(exhaustion.adminHeartbeatsAnswered)/\(exhaustion.adminHeartbeats) "
                    + "heartbeats answered, worst " + formatMs(exhaustion.adminRoundTripMaxMilliseconds) + " ms"
            )
            lines.append(
                "  agents during the check: \(exhaustion.agentsTailSamples) round trips, p99 "
                    + formatMs(exhaustion.agentsTailP99Milliseconds) + " ms, max "
                    + formatMs(exhaustion.agentsTailMaxMilliseconds) + " ms"
            )
            lines.append(
                "  after closing the extra connections: \(exhaustion.newConnectionDetail); coordinator "
                    + (exhaustion.stillRunning ? "still running" : "NOT running")
            )
        }
        return lines.joined(separator: "\n")
    }
}
