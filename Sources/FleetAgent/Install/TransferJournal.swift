import Foundation

/// The persisted progress of incoming transfers, one per model, so a transfer cut by a disconnect or a
/// `kill -9` resumes from the last durable chunk instead of from zero.
///
/// Each transfer lives in `DATA_DIR/transfers/<model>/` as `payload.part` (the bytes so far) and
/// `state.json` (the descriptor and `receivedBytes`, replaced atomically). An append writes and `fsync`s
/// the payload *before* it replaces the state, so the state never claims bytes that are not durable:
///
/// ```
/// append(chunk at n):  payload.part[n..<n+k] = chunk; fsync(payload.part)   crash here: file longer than state
///                      state.json := {receivedBytes: n+k} (tmp, fsync, rename, fsync dir)
/// ```
///
/// On resume (``begin(_:)`` or ``append(_:at:model:)``), a payload longer than `receivedBytes` is cut back
/// to it; a payload shorter than `receivedBytes` (a file system that lost data) lowers `receivedBytes` to
/// the file's length. The read-only queries (``progress(model:)``, ``allInProgress()``) never modify files,
/// so `fleet-agent status` can run beside the agent: they report the smaller of the two lengths.
///
/// The journal keeps no state in memory. One writer per model at a time (the agent's transfer loop);
/// the calls block on `fsync` and belong off event loops.
public struct TransferJournal: Sendable {
    /// The default bound on an announced payload: 512 MiB.
    public static let defaultMaximumTotalBytes = 512 * 1024 * 1024

    public let dataDirectory: String
    /// Transfers announcing more bytes than this are refused.
    public let maximumTotalBytes: Int
    private let hash: ModelHashFunction
    private let now: @Sendable () -> Date

    /// - Parameters:
    ///   - hash: the payload digest; the agent passes swift-crypto's SHA-256, tests a fake.
    ///   - now: the clock for `startedAt`.
    public init(
        dataDirectory: String,
        maximumTotalBytes: Int = Self.defaultMaximumTotalBytes,
        hash: @escaping ModelHashFunction,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.dataDirectory = dataDirectory
        self.maximumTotalBytes = maximumTotalBytes
        self.hash = hash
        self.now = now
    }

    /// Starts a transfer, or resumes the one on disk when it is for the same payload (same digest and size).
    /// Any other journal for the model is discarded first.
    public func begin(_ descriptor: TransferDescriptor) throws -> TransferProgress {
        try validate(descriptor)
        let paths = TransferPaths(dataDirectory: dataDirectory, model: descriptor.model)
        return try withIOErrors {
            if let existing = try reconcile(paths),
                existing.descriptor.payloadSHA256 == descriptor.payloadSHA256,
                existing.descriptor.totalBytes == descriptor.totalBytes
            {
                guard existing.descriptor != descriptor else { return existing }
                var updated = existing
                updated.descriptor = descriptor
                try save(updated, paths)
                return updated
            }
            try removeFiles(paths)
            try ModelDurableIO.makeDirectories(paths.directory)
            try ModelDurableIO.writeSynced(paths.payload, [])
            try ModelDurableIO.syncDirectory(paths.directory)
            let fresh = TransferProgress(descriptor: descriptor, receivedBytes: 0, startedAt: now())
            try save(fresh, paths)
            return fresh
        }
    }

    /// Appends a chunk that must start exactly at the durable received count, and makes it durable.
    public func append(_ bytes: [UInt8], at offset: Int, model: String) throws -> TransferProgress {
        let paths = try validatedPaths(model)
        return try withIOErrors {
            guard var progress = try reconcile(paths) else { throw TransferJournalError.noTransfer(model) }
            guard offset == progress.receivedBytes else {
                throw TransferJournalError.outOfOrder(
                    "\(model): chunk at \(offset), expected \(progress.receivedBytes)"
                )
            }
            guard bytes.count <= progress.descriptor.totalBytes - offset else {
                throw TransferJournalError.pastEnd(
                    "\(model): \(bytes.count) bytes at \(offset) of \(progress.descriptor.totalBytes)"
                )
            }
            guard !bytes.isEmpty else { return progress }
            try ModelDurableIO.writeSynced(paths.payload, bytes, at: offset)
            progress.receivedBytes += bytes.count
            try save(progress, paths)
            return progress
        }
    }

    /// The transfer in progress for `model`, without modifying anything on disk; nil when there is none.
    public func progress(model: String) -> TransferProgress? {
        guard ModelStorageLayout.isValidModelName(model) else { return nil }
        let paths = TransferPaths(dataDirectory: dataDirectory, model: model)
        guard var progress = try? load(paths) else { return nil }
        let fileLength = (try? ModelDurableIO.fileSize(paths.payload)) ?? 0
        progress.receivedBytes = min(progress.receivedBytes, fileLength)
        return progress
    }

    /// Every transfer in progress, by model name.
    public func allInProgress() -> [TransferProgress] {
        let names = (try? ModelDurableIO.entries(of: "\(dataDirectory)/transfers")) ?? []
        return names.compactMap { progress(model: $0) }
    }

    /// Reads the finished payload and checks its digest. The journal stays until ``discard(model:)``, so a
    /// crash before the install finishes does not cost the download; on a digest mismatch it is discarded.
    public func complete(model: String) throws -> [UInt8] {
        let paths = try validatedPaths(model)
        return try withIOErrors {
            guard let progress = try reconcile(paths) else { throw TransferJournalError.noTransfer(model) }
            let total = progress.descriptor.totalBytes
            guard progress.isComplete, let bytes = try ModelDurableIO.readFile(paths.payload, limit: total),
                bytes.count == total
            else { throw TransferJournalError.incomplete("\(model): \(progress.receivedBytes) of \(total) bytes") }
            let digest = hash(bytes).modelHexString
            guard digest == progress.descriptor.payloadSHA256 else {
                try removeFiles(paths)
                throw TransferJournalError.hashMismatch(
                    "\(model): payload digest \(digest), expected \(progress.descriptor.payloadSHA256)"
                )
            }
            return bytes
        }
    }

    /// Deletes the model's journal; nothing happens when there is none.
    public func discard(model: String) throws {
        let paths = try validatedPaths(model)
        try withIOErrors { try removeFiles(paths) }
    }
}

extension TransferJournal {
    private func validatedPaths(_ model: String) throws -> TransferPaths {
        guard ModelStorageLayout.isValidModelName(model) else { throw TransferJournalError.invalidModelName(model) }
        return TransferPaths(dataDirectory: dataDirectory, model: model)
    }

    private func validate(_ descriptor: TransferDescriptor) throws {
        _ = try validatedPaths(descriptor.model)
        guard ModelDigestText.isValid(descriptor.payloadSHA256) else {
            throw TransferJournalError.invalidDescriptor("payload digest \(descriptor.payloadSHA256)")
        }
        guard ModelDigestText.isValidLabel(descriptor.version), ModelDigestText.isValidLabel(descriptor.variant)
        else { throw TransferJournalError.invalidDescriptor("version or variant of \(descriptor.model)") }
        switch (descriptor.encoding, descriptor.baseVersion) {
        case (.delta, .some(let base)) where ModelDigestText.isValidLabel(base): break
        case (.full, .none): break
        default: throw TransferJournalError.invalidDescriptor("base version of a \(descriptor.encoding) transfer")
        }
        guard descriptor.totalBytes >= 0 else { throw TransferJournalError.invalidDescriptor("negative size") }
        guard descriptor.totalBytes <= maximumTotalBytes else {
            throw TransferJournalError.tooLarge("\(descriptor.totalBytes) bytes, limit \(maximumTotalBytes)")
        }
    }

    /// The stored state, or nil when there is none or it is unreadable or inconsistent.
    private func load(_ paths: TransferPaths) throws -> TransferProgress? {
        guard let bytes = try ModelDurableIO.readFile(paths.state, limit: 64 * 1024),
            let record = ModelStateJSON.decode(TransferStateRecord.self, from: bytes),
            record.formatVersion == TransferStateRecord.currentFormat,
            record.model == paths.model,
            (0...maximumTotalBytes).contains(record.totalBytes),
            (0...record.totalBytes).contains(record.receivedBytes)
        else { return nil }
        return record.progress
    }

    /// Loads the state and makes the payload file agree with it (the resume rule in the type's overview).
    private func reconcile(_ paths: TransferPaths) throws -> TransferProgress? {
        guard var progress = try load(paths) else { return nil }
        guard let fileLength = try ModelDurableIO.fileSize(paths.payload) else {
            try ModelDurableIO.writeSynced(paths.payload, [])
            try ModelDurableIO.syncDirectory(paths.directory)
            if progress.receivedBytes != 0 {
                progress.receivedBytes = 0
                try save(progress, paths)
            }
            return progress
        }
        if fileLength > progress.receivedBytes {
            try ModelDurableIO.truncateSynced(paths.payload, to: progress.receivedBytes)
        } else if fileLength < progress.receivedBytes {
            progress.receivedBytes = fileLength
            try save(progress, paths)
        }
        return progress
    }

    private func save(_ progress: TransferProgress, _ paths: TransferPaths) throws {
        try ModelDurableIO.replaceAtomically(paths.state, with: ModelStateJSON.encode(TransferStateRecord(progress)))
    }

    /// Removes the state first, so a crash part-way leaves no state pointing at a missing payload.
    private func removeFiles(_ paths: TransferPaths) throws {
        guard try ModelDurableIO.fileSize(paths.directory) != nil else { return }
        try ModelDurableIO.removeFile(paths.state)
        try ModelDurableIO.syncDirectory(paths.directory)
        for name in try ModelDurableIO.entries(of: paths.directory) {
            try ModelDurableIO.removeFile("\(paths.directory)/\(name)")
        }
        try ModelDurableIO.removeDirectory(paths.directory)
        try ModelDurableIO.syncDirectory(containing: paths.directory)
    }

    private func withIOErrors<Result>(_ body: () throws -> Result) throws -> Result {
        do { return try body() } catch let failure as ModelIOFailure {
            throw TransferJournalError.io(failure.description)
        }
    }
}

/// The files of one model's transfer.
struct TransferPaths {
    let model: String
    let directory: String
    let payload: String
    let state: String

    init(dataDirectory: String, model: String) {
        self.model = model
        directory = ModelStorageLayout.transferDirectory(dataDirectory: dataDirectory, model: model)
        payload = directory + "/payload.part"
        state = directory + "/state.json"
    }
}
