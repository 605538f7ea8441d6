import Foundation

/// Installs models atomically under `DATA_DIR/models/<model>/` and keeps the previous version for rollback.
///
/// Applications open `current.safetensors` (``ModelStorageLayout/currentModelPath(dataDirectory:model:)``),
/// which only ever changes by `rename(2)`. An install runs these steps; `pending.json` (the record the
/// install will produce) brackets the steps that change files, so ``recover()`` knows an install was in
/// flight and which digest "new" has:
///
/// ```
/// 1. pending.json := new record                 (tmp, fsync, rename, fsync dir)
/// 2. current.safetensors.new := bytes           (fsync file, fsync dir)
/// 3. previous.safetensors := link(current)      (link to previous.safetensors.tmp, rename, fsync dir)
/// 4. current.safetensors := rename(.new)        (fsync dir)   <- the commit point for applications
/// 5. installed.json := new record               (tmp, fsync, rename, fsync dir)
/// 6. unlink pending.json                        (fsync dir)
/// ```
///
/// A crash before step 4 leaves the old `current` and the old `installed.json`; one after it leaves the
/// new `current`. Recovery then, for each model:
/// - deletes `*.tmp` leftovers;
/// - with `pending.json` and a `.new` whose digest equals the pending one (the crash came after step 2),
///   rolls forward by redoing steps 3 to 6;
/// - otherwise deletes `.new` and hashes `current`: if it has the pending digest (crash after step 4)
///   `installed.json` becomes the pending record, if it has the recorded digest the record stays; a file
///   matching neither is deleted, as nothing vouches for it. `previous` is kept only if its digest is the
///   one the chosen record names.
///
/// Recovery also hashes `current` when there is no pending install but `installed.json` is missing or
/// unreadable or the file size disagrees with it, and always trusts the file's digest over the record.
/// A rollback runs the same steps with step 2 linking `previous` as the new file, so the two swap.
///
/// The installer keeps no state in memory. Calls for the same data directory must not overlap (the agent
/// runs them one at a time); reads from other processes (`fleet-agent status`) are safe at any time.
public struct ModelInstaller: Sendable {
    /// The default bound on a model file: 512 MiB.
    public static let defaultMaximumModelBytes = 512 * 1024 * 1024

    public let dataDirectory: String
    /// Models larger than this are refused, and are not read back for hashing.
    public let maximumModelBytes: Int
    let hash: ModelHashFunction
    let now: @Sendable () -> Date
    /// Called after each step; tests throw from it to leave the disk as a crash at that point would.
    let checkpoint: @Sendable (ModelInstallStep) throws -> Void

    /// - Parameters:
    ///   - hash: the model digest; the agent passes swift-crypto's SHA-256, tests a fake.
    ///   - now: the clock for `installedAt`.
    public init(
        dataDirectory: String,
        maximumModelBytes: Int = Self.defaultMaximumModelBytes,
        hash: @escaping ModelHashFunction,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.init(dataDirectory: dataDirectory, maximumModelBytes: maximumModelBytes, hash: hash, now: now) { _ in }
    }

    init(
        dataDirectory: String,
        maximumModelBytes: Int,
        hash: @escaping ModelHashFunction,
        now: @escaping @Sendable () -> Date,
        checkpoint: @escaping @Sendable (ModelInstallStep) throws -> Void
    ) {
        self.dataDirectory = dataDirectory
        self.maximumModelBytes = maximumModelBytes
        self.hash = hash
        self.now = now
        self.checkpoint = checkpoint
    }

    /// Installs `bytes` as the model's current version, keeping the version it replaces as previous.
    /// `bytes` must hash to `sha256`. Installing the version that is already current changes nothing.
    /// `directiveIssuedAt` (for an install a rollback directive ordered) raises the model's persisted
    /// high-water mark of directives, ``InstalledModelState/newestDirective``, which every later install keeps.
    @discardableResult
    public func install(
        model: String,
        version: String,
        variant: String,
        sha256: String,
        bytes: [UInt8],
        manifest: [UInt8],
        directiveIssuedAt: Date? = nil
    ) throws -> InstalledModelState {
        let paths = try validatedPaths(model)
        let digest = sha256.lowercased()
        guard ModelDigestText.isValid(digest), ModelDigestText.isValidLabel(version),
            ModelDigestText.isValidLabel(variant)
        else { throw ModelInstallError.invalidArgument("version, variant or digest of \(model)") }
        guard bytes.count <= maximumModelBytes else {
            throw ModelInstallError.tooLarge("\(model): \(bytes.count) bytes, limit \(maximumModelBytes)")
        }
        let actual = hash(bytes).modelHexString
        guard actual == digest else { throw ModelInstallError.hashMismatch("\(model): bytes hash to \(actual)") }
        return try withIOErrors {
            try ModelDurableIO.makeDirectories(paths.directory)
            let existing = try ModelDurableIO.fileSize(paths.current) == nil ? nil : try readRecord(paths.record)
            if let existing, existing.sha256 == digest, existing.version == version, existing.variant == variant {
                return existing.state(path: paths.current)
            }
            let record = ModelInstallRecord(
                formatVersion: ModelInstallRecord.currentFormat,
                model: model,
                version: version,
                variant: variant,
                sha256: digest,
                size: bytes.count,
                installedAt: now(),
                previous: existing?.asPrevious,
                manifest: Data(manifest),
                newestDirective: [try readRecord(paths.record)?.newestDirective, directiveIssuedAt].compactMap { $0 }
                    .max()
            )
            try ModelDurableIO.replaceAtomically(paths.pending, with: ModelStateJSON.encode(record))
            try checkpoint(.wrotePending)
            try ModelDurableIO.writeSynced(paths.incoming, bytes)
            try ModelDurableIO.syncDirectory(paths.directory)
            try checkpoint(.wroteIncoming)
            return try commit(record, paths).state(path: paths.current)
        }
    }

    /// Swaps the previous version back in; the version it replaces becomes previous, so a second rollback
    /// undoes the first. The previous file is hashed first and refused if it does not match its record.
    @discardableResult
    public func rollback(model: String) throws -> InstalledModelState {
        let paths = try validatedPaths(model)
        return try withIOErrors {
            guard let record = try readRecord(paths.record), try ModelDurableIO.fileSize(paths.current) != nil else {
                throw ModelInstallError.notInstalled(model)
            }
            guard let previous = record.previous,
                let previousBytes = try ModelDurableIO.readFile(paths.previous, limit: maximumModelBytes)
            else { throw ModelInstallError.noPrevious(model) }
            let actual = hash(previousBytes).modelHexString
            guard actual == previous.sha256 else {
                throw ModelInstallError.hashMismatch("\(model): previous hashes to \(actual), not \(previous.sha256)")
            }
            let rolledBack = ModelInstallRecord(
                formatVersion: ModelInstallRecord.currentFormat,
                model: model,
                version: previous.version,
                variant: previous.variant,
                sha256: previous.sha256,
                size: previous.size,
                installedAt: now(),
                previous: record.asPrevious,
                manifest: previous.manifest,
                newestDirective: record.newestDirective
            )
            try ModelDurableIO.replaceAtomically(paths.pending, with: ModelStateJSON.encode(rolledBack))
            try checkpoint(.wrotePending)
            try ModelDurableIO.removeFile(paths.incoming)
            try ModelDurableIO.linkOrCopy(paths.previous, to: paths.incoming)
            try ModelDurableIO.syncDirectory(paths.directory)
            try checkpoint(.wroteIncoming)
            return try commit(rolledBack, paths).state(path: paths.current)
        }
    }

    /// Every installed model, by name, as recorded; reads only.
    public func installed() -> [InstalledModelState] {
        let names = (try? ModelDurableIO.entries(of: "\(dataDirectory)/models")) ?? []
        return names.compactMap { installed(model: $0) }
    }

    /// The model's record, or nil when it is not installed (or the name is invalid); reads only.
    public func installed(model: String) -> InstalledModelState? {
        guard let paths = try? validatedPaths(model), let record = try? readRecord(paths.record) else { return nil }
        return record.state(path: paths.current)
    }

    /// The installed model's bytes (the base of a delta), checked against the recorded digest.
    public func currentBytes(model: String) throws -> [UInt8] {
        let paths = try validatedPaths(model)
        return try withIOErrors {
            guard let record = try readRecord(paths.record),
                let bytes = try ModelDurableIO.readFile(paths.current, limit: maximumModelBytes)
            else { throw ModelInstallError.notInstalled(model) }
            let actual = hash(bytes).modelHexString
            guard actual == record.sha256 else {
                throw ModelInstallError.hashMismatch("\(model): current hashes to \(actual), not \(record.sha256)")
            }
            return bytes
        }
    }
}

extension ModelInstaller {
    /// Steps 3 to 6 of an install, shared by install, rollback and recovery's roll-forward. Expects
    /// `current.safetensors.new` to be durable and to hash to `record.sha256`; returns the record written.
    func commit(_ proposed: ModelInstallRecord, _ paths: ModelPaths) throws -> ModelInstallRecord {
        var record = proposed
        if record.previous != nil, try ModelDurableIO.fileSize(paths.current) != nil {
            try ModelDurableIO.removeFile(paths.previousTemporary)
            try ModelDurableIO.linkOrCopy(paths.current, to: paths.previousTemporary)
            try checkpoint(.linkedPreviousTemporary)
            try ModelDurableIO.renameFile(paths.previousTemporary, to: paths.previous)
            // rename(2) does nothing when both names are links to one file (a roll-forward after step 3).
            try ModelDurableIO.removeFile(paths.previousTemporary)
        } else {
            record.previous = nil
            try ModelDurableIO.removeFile(paths.previous)
        }
        try ModelDurableIO.syncDirectory(paths.directory)
        try checkpoint(.preservedPrevious)
        try ModelDurableIO.renameFile(paths.incoming, to: paths.current)
        try ModelDurableIO.syncDirectory(paths.directory)
        try checkpoint(.replacedCurrent)
        try ModelDurableIO.replaceAtomically(paths.record, with: ModelStateJSON.encode(record))
        try checkpoint(.wroteRecord)
        try ModelDurableIO.removeFile(paths.pending)
        try ModelDurableIO.syncDirectory(paths.directory)
        return record
    }

    func validatedPaths(_ model: String) throws -> ModelPaths {
        guard ModelStorageLayout.isValidModelName(model) else { throw ModelInstallError.invalidModelName(model) }
        return ModelPaths(dataDirectory: dataDirectory, model: model)
    }

    /// The record in `path`, or nil when the file is missing, unreadable or for another model.
    func readRecord(_ path: String) throws -> ModelInstallRecord? {
        guard let bytes = try ModelDurableIO.readFile(path, limit: 1024 * 1024),
            let record = ModelStateJSON.decode(ModelInstallRecord.self, from: bytes),
            record.formatVersion == ModelInstallRecord.currentFormat
        else { return nil }
        return record
    }

    func withIOErrors<Result>(_ body: () throws -> Result) throws -> Result {
        do { return try body() } catch let failure as ModelIOFailure {
            throw ModelInstallError.io(failure.description)
        }
    }
}

/// A point between two durable steps of an install or rollback, for crash tests.
enum ModelInstallStep: CaseIterable, Sendable {
    case wrotePending
    case wroteIncoming
    case linkedPreviousTemporary
    case preservedPrevious
    case replacedCurrent
    case wroteRecord
}

/// The files of one installed model.
struct ModelPaths {
    let model: String
    let directory: String
    let current: String
    let incoming: String
    let previous: String
    let previousTemporary: String
    let record: String
    let pending: String

    init(dataDirectory: String, model: String) {
        self.model = model
        directory = ModelStorageLayout.modelDirectory(dataDirectory: dataDirectory, model: model)
        current = ModelStorageLayout.currentModelPath(dataDirectory: dataDirectory, model: model)
        incoming = current + ".new"
        previous = directory + "/previous.safetensors"
        previousTemporary = previous + ".tmp"
        record = directory + "/installed.json"
        pending = directory + "/pending.json"
    }
}
