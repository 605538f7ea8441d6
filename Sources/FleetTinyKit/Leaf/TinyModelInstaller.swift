/// Where a leaf's model payload goes: the session streams a transfer's chunks into it in order and checks the
/// payload's SHA-256 (``TinyInbound/TransferStart/payloadSHA256``) itself; the installer rebuilds the weights file
/// (inflate, or a delta against the installed model), checks it against the signed manifest's size and SHA-256,
/// and switches to it only then. tinydelta's streaming A/B flash installer and the host simulator's installer
/// implement it.
public protocol TinyModelInstaller {
    /// Whether the installer can rebuild payloads of this encoding (0 full, 1 delta) against what is installed.
    func accepts(encoding: UInt8) -> Bool
    /// Starts receiving a payload of `totalBytes` for `target` (the manifest's name, version, variant, SHA-256;
    /// `targetSize` its file size), forgetting any earlier partial payload. False when it cannot take it.
    mutating func begin(target: TinyInstalledModel, targetSize: Int, encoding: UInt8, totalBytes: Int) -> Bool
    /// The next payload bytes, in order. False on a storage error.
    mutating func write(_ bytes: UnsafeRawBufferPointer) -> Bool
    /// The whole payload arrived and its SHA-256 matched: rebuild, check, and switch to it.
    mutating func finish() -> TinyInstallOutcome
    /// The model the installer runs now, when it keeps that itself (A/B slots do): the leaf trusts it over its own
    /// record at start-up, so a power cut between the switch and the record cannot make it report the old model.
    func installedModel() -> TinyInstalledModel?
}

extension TinyModelInstaller {
    /// By default the installer keeps no record: the leaf's own (``TinyRecord/installedModel``) is used.
    public func installedModel() -> TinyInstalledModel? { nil }
}

/// The end of an install (the codes are SPEC.md 11.6's).
public enum TinyInstallOutcome: Equatable {
    case installed
    /// The rebuilt file's size or SHA-256 differs from the manifest's (`hash-mismatch`).
    case hashMismatch
    /// The payload could not be rebuilt (`reconstruction-failed`).
    case reconstructionFailed
    /// Writing failed (`storage-error`).
    case storageError
}
