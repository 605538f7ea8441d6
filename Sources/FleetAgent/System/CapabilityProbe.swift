import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Detects what the edge box offers: `arch`, `os`, `cores`, `ram` and `storage` (bytes), `accelerator`.
public enum CapabilityProbe {
    public static func detect(dataDirectory: String) -> [String: String] {
        var capabilities: [String: String] = [
            "arch": architecture(),
            "os": operatingSystem(),
            "cores": String(ProcessInfo.processInfo.activeProcessorCount),
            "ram": String(ProcessInfo.processInfo.physicalMemory),
            "accelerator": "none",
        ]
        if let storage = freeStorage(at: dataDirectory) { capabilities["storage"] = String(storage) }
        return capabilities
    }

    static func architecture() -> String {
        var name = utsname()
        uname(&name)
        return withUnsafeBytes(of: &name.machine) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
    }

    static func operatingSystem() -> String {
        #if os(Linux)
        "linux"
        #elseif os(macOS)
        "macos"
        #else
        "unknown"
        #endif
    }

    static func freeStorage(at path: String) -> UInt64? {
        guard let attributes = try? FileManager.default.attributesOfFileSystem(forPath: path),
            let free = attributes[.systemFreeSize] as? NSNumber
        else { return nil }
        return free.uint64Value
    }

    /// Parses sizes such as `48MiB`, `2GB`, `512k` or plain bytes into bytes; other values pass through.
    public static func normalise(key: String, value: String) -> String {
        guard key == "ram" || key == "storage" else { return value }
        return parseSize(value).map(String.init) ?? value
    }

    public static func parseSize(_ text: String) -> UInt64? {
        let units: [(String, UInt64)] = [
            ("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("TiB", 1 << 40),
            ("KB", 1000), ("MB", 1_000_000), ("GB", 1_000_000_000), ("TB", 1_000_000_000_000),
            ("K", 1 << 10), ("M", 1 << 20), ("G", 1 << 30), ("k", 1 << 10), ("B", 1),
        ]
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        for (suffix, multiplier) in units where trimmed.hasSuffix(suffix) {
            guard let number = Double(trimmed.dropLast(suffix.count)), number >= 0 else { return nil }
            return UInt64(number * Double(multiplier))
        }
        return UInt64(trimmed)
    }
}
