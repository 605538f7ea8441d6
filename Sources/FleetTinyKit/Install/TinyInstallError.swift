/// Why an install stopped. After any of them the previously active model stays active and intact.
public enum TinyInstallError: Error, Equatable, Sendable {
    /// The page buffer is smaller than a flash page.
    case pageBufferTooSmall
    /// ``TinyInstaller/feed(_:at:flash:)`` without a ``TinyInstaller/begin(store:flash:encoding:payloadSize:model:)``
    /// in progress (never begun, finished, or failed).
    case notInstalling
    /// A chunk starts after ``TinyInstaller/nextOffset``: resume from there.
    case gap
    /// More bytes than the payload size announced.
    case tooManyBytes
    /// The model is larger than a slot (or than ``TinyInstaller/maximumModelSize``).
    case tooLarge
    /// The delta does not start with "TFD" version 1.
    case badMagic
    /// A FleetDelta patch in a mode this device cannot stream (only mode 2, stream, applies with bounded RAM).
    case unsupportedMode
    /// The delta was made for another base than the active model (CRC-32 of the base differs).
    case wrongBase
    /// The delta is inconsistent (an operation outside the base or the output, a value outside its dtype).
    case corrupt
    /// The rebuilt file's CRC-32 differs from the one the delta declares.
    case checksumMismatch
    /// The installed file's SHA-256 differs from the manifest's.
    case digestMismatch
    /// A flash read, erase or write failed.
    case flash
}
