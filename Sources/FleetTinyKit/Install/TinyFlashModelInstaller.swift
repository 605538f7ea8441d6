/// The leaf session's installer (``TinyModelInstaller``) over A/B flash slots: full payloads (zlib, SPEC.md 11.3)
/// and stream-mode deltas against the active model go through ``TinyInstaller`` into the inactive slot, which
/// becomes active only after its SHA-256 matched the manifest's.
public struct TinyFlashModelInstaller<Flash: TinyFlash>: TinyModelInstaller {
    /// The flash (a memory-mapped driver, or the host simulator's).
    public var flash: Flash
    public let store: TinySlotStore
    private var installer: TinyInstaller
    private var error: TinyInstallError? = nil

    /// An installer over `store` on `flash`, using `pageBuffer` (one flash page) for every page it writes.
    public init(flash: Flash, store: TinySlotStore, pageBuffer: UnsafeMutableRawBufferPointer) {
        self.flash = flash
        self.store = store
        installer = TinyInstaller(pageBuffer: pageBuffer)
    }

    /// The active model as the leaf reports it, nil when none is installed (or its name is longer than a report's).
    public func installedModel() -> TinyInstalledModel? {
        guard let record = store.active(flash) else { return nil }
        return record.withName { name in
            record.withVariant { variant in
                record.sha256.withUnsafeBytes { digest in
                    TinyInstalledModel(name: name, version: Int(record.version), variant: variant, sha256: digest)
                }
            }
        }
    }

    /// Full payloads always; deltas when a model is active (they apply against it).
    public func accepts(encoding: UInt8) -> Bool {
        encoding == 0 || (encoding == 1 && store.active(flash) != nil)
    }

    public mutating func begin(target: TinyInstalledModel, targetSize: Int, encoding: UInt8, totalBytes: Int) -> Bool {
        error = nil
        guard encoding <= 1, target.version >= 0, UInt64(target.version) <= UInt64(UInt32.max) else { return false }
        let record = target.withFields { name, variant, digest in
            TinySlotRecord(
                name: name,
                variant: variant,
                version: UInt32(target.version),
                length: targetSize,
                sha256: TinyDigest32(bytes: digest)
            )
        }
        guard let record else { return false }
        do throws(TinyInstallError) {
            try installer.begin(
                store: store,
                flash: &flash,
                encoding: encoding == 0 ? .zlib : .delta,
                payloadSize: totalBytes,
                model: record
            )
        } catch {
            self.error = error
            return error != .flash
        }
        return true
    }

    public mutating func write(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard error == nil else { return true }
        do throws(TinyInstallError) {
            try installer.feed(bytes, at: installer.nextOffset, flash: &flash)
        } catch {
            self.error = error
            return error != .flash
        }
        return true
    }

    public mutating func finish() -> TinyInstallOutcome {
        if installer.isInstalled { return .installed }
        switch error ?? .corrupt {
        case .digestMismatch: return .hashMismatch
        case .flash: return .storageError
        default: return .reconstructionFailed
        }
    }
}
