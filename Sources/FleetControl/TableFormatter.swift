import FleetCommandLine
import FleetCoordinator
import Foundation

/// Renders rows as aligned, human-readable columns (the default output of `fleetctl`).
public struct Table: Sendable {
    public var headers: [String]
    public var rows: [[String]]

    public init(headers: [String], rows: [[String]]) {
        self.headers = headers
        self.rows = rows
    }

    public func render() -> String {
        var widths = headers.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated() where index < widths.count {
                widths[index] = max(widths[index], cell.count)
            }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in
                index == cells.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
        return ([line(headers)] + rows.map(line)).joined(separator: "\n")
    }
}

public enum Output {
    /// Pretty, key-sorted JSON for scripts.
    public static func json(_ value: some Encodable) throws -> String { try JSONOutput.string(value) }

    /// One row per device; a GATEWAY column (the gateway's name) when any device is a leaf behind a gateway.
    public static func devicesTable(_ devices: [DeviceView]) -> String {
        let gateways = devices.contains { $0.gateway != nil }
        return Table(
            headers: ["ID", "NAME", "STATUS", "LAST SEEN", "LABELS", "ARCH", "RAM"] + (gateways ? ["GATEWAY"] : []),
            rows: devices.map { device in
                [
                    device.id, device.name, device.status, device.lastSeen ?? "never",
                    device.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","),
                    device.capabilities["arch"] ?? "-",
                    device.capabilities["ram"].flatMap(UInt64.init).map(byteCount) ?? "-",
                ] + (gateways ? [device.gatewayLabel ?? "-"] : [])
            }
        ).render()
    }

    /// Said on stderr when the devices were read from a coordinator's data directory while it is not running.
    public static func staleNotice(asOf: String?, reason: String?, now: Date = Date()) -> String {
        var age = ""
        if let asOf, let date = ISO8601DateFormatter().date(from: asOf) {
            age = " (\(Int(now.timeIntervalSince(date).rounded())) s ago)"
        }
        return "fleetctl: the coordinator is not reachable" + (reason.map { " (\($0))" } ?? "")
            + "; statuses are as of \(asOf ?? "never")\(age), its last write; `unknown`: online then"
    }

    public static func deviceDetail(_ device: DeviceView) -> String {
        var lines = [
            "ID:            \(device.id)",
            "Name:          \(device.name)",
            "Status:        \(device.status)"
                + (device.statusAsOf.map { " (as of \($0): the coordinator is down)" } ?? ""),
            "Last seen:     \(device.lastSeen ?? "never")",
            "Enrolled at:   \(device.enrolledAt)",
            "Agent version: \(device.agentVersion)",
        ]
        if let gateway = device.gateway {
            lines.append("Gateway:       " + (device.gatewayName.map { "\($0) (\(gateway))" } ?? gateway))
        }
        lines.append("Labels:")
        lines += device.labels.sorted { $0.key < $1.key }.map { "  \($0.key)=\($0.value)" }
        lines.append("Capabilities:")
        lines += device.capabilities.sorted { $0.key < $1.key }.map { "  " + setting($0.key, $0.value) }
        lines.append("Installed models:" + (device.installedModels.isEmpty ? " none" : ""))
        lines += device.installedModels.map {
            "  \($0.name) v\($0.version) \($0.variant) sha256:\($0.sha256.prefix(12))"
        }
        if let assignments = device.assignments {
            lines.append("Should run:" + (assignments.isEmpty ? " nothing assigned" : ""))
            lines += assignments.map {
                "  \($0.model) " + ($0.version.map { "v\($0) " } ?? "none ") + ($0.variant ?? "") + " — \($0.reason)"
            }
        }
        return lines.joined(separator: "\n")
    }

    public static func eventsTable(_ events: [EventView]) -> String {
        Table(
            headers: ["SEQ", "TIME", "DEVICE", "KIND", "DETAIL"],
            rows: events.map { [String($0.sequence), $0.at, $0.deviceName ?? $0.device ?? "-", $0.kind, $0.detail] }
        ).render()
    }

    /// A capability or requirement as people read it: sizes (`ram`, `storage`, `min-ram`, `min-storage`) in
    /// KiB/MiB/GiB like every other size `fleetctl` prints; the rest as reported.
    public static func setting(_ key: String, _ value: String) -> String {
        let sizes: Set<String> = ["ram", "storage", "min-ram", "min-storage"]
        if sizes.contains(key), let bytes = UInt64(value) { return "\(key)=\(byteCount(bytes))" }
        return "\(key)=\(value)"
    }

    public static func byteCount(_ bytes: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
    }
}
