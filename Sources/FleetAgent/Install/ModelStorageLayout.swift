import FleetWire

/// Where the agent keeps installed models and incoming transfers under its data directory.
///
/// ```
/// DATA_DIR/
///   models/<model>/current.safetensors    the installed model: the stable path applications open
///   models/<model>/previous.safetensors   the version before it, kept for rollback
///   models/<model>/installed.json         what `current.safetensors` is (version, variant, sha256, manifest)
///   models/<model>/pending.json           present only while an install or rollback is in flight
///   transfers/<model>/payload.part        the payload bytes received so far
///   transfers/<model>/state.json          the transfer's descriptor and durable progress
/// ```
///
/// `current.safetensors` is only ever replaced by `rename(2)`, so an application that opens it sees
/// either the old or the new model in full. An application that keeps the file open (or mapped) keeps
/// reading the version it opened; it should reopen the path to pick up a new install.
///
/// Model names come from the coordinator, so they are validated before they become path components.
public enum ModelStorageLayout {
    /// Whether `name` is a safe model name: the protocol's one rule, ``ModelNameRule``.
    public static func isValidModelName(_ name: String) -> Bool { ModelNameRule.isValid(name) }

    /// The directory that holds one model's installed files: `DATA_DIR/models/<model>`.
    public static func modelDirectory(dataDirectory: String, model: String) -> String {
        "\(dataDirectory)/models/\(model)"
    }

    /// The stable path of the installed model that applications open:
    /// `DATA_DIR/models/<model>/current.safetensors`.
    public static func currentModelPath(dataDirectory: String, model: String) -> String {
        "\(modelDirectory(dataDirectory: dataDirectory, model: model))/current.safetensors"
    }

    /// The directory that holds one model's incoming transfer: `DATA_DIR/transfers/<model>`.
    public static func transferDirectory(dataDirectory: String, model: String) -> String {
        "\(dataDirectory)/transfers/\(model)"
    }
}

/// Hashes a whole payload or model file; the agent passes swift-crypto's SHA-256.
///
/// Injected so this code stays free of a crypto dependency; the digest is compared as lowercase hex.
public typealias ModelHashFunction = @Sendable ([UInt8]) -> [UInt8]

extension Array where Element == UInt8 {
    /// Lowercase hexadecimal, as digests are stored in the JSON state files.
    var modelHexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(count * 2)
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

enum ModelDigestText {
    /// Whether `text` is a plausible hex digest: an even number (2 to 128) of hex digits.
    static func isValid(_ text: String) -> Bool {
        let utf8 = text.utf8
        guard (2...128).contains(utf8.count), utf8.count % 2 == 0 else { return false }
        return utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"),
                UInt8(ascii: "A")...UInt8(ascii: "F"):
                true
            default: false
            }
        }
    }

    /// Whether a version or variant label is acceptable: 1 to 128 characters, no control characters.
    static func isValidLabel(_ text: String) -> Bool {
        (1...128).contains(text.unicodeScalars.count)
            && !text.unicodeScalars.contains { $0.properties.generalCategory == .control }
    }
}
