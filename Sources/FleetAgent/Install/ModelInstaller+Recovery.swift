/// What ``ModelInstaller/recover()`` did to one model's directory.
public struct ModelRecoveryReport: Sendable, Hashable, CustomStringConvertible {
    /// The kind of repair; compare with the static members.
    public struct Outcome: Sendable, Hashable, CustomStringConvertible {
        private enum Code: Hashable, Sendable {
            case completedInstall
            case abandonedInstall
            case repairedRecord
            case removedUnverifiedModel
        }

        private let code: Code

        /// An interrupted install or rollback was finished; the new version is current.
        public static let completedInstall = Self(code: .completedInstall)
        /// An interrupted install or rollback was undone; the old version is current.
        public static let abandonedInstall = Self(code: .abandonedInstall)
        /// `installed.json` or `previous.safetensors` was brought in line with the files.
        public static let repairedRecord = Self(code: .repairedRecord)
        /// `current.safetensors` matched no record and was removed; the model must be fetched again.
        public static let removedUnverifiedModel = Self(code: .removedUnverifiedModel)

        public var description: String { "\(code)" }
    }

    public let model: String
    public let outcome: Outcome

    public var description: String { "\(model): \(outcome)" }
}

extension ModelInstaller {
    /// Repairs every model directory after a crash; run once at agent start, before any install.
    /// Returns what it changed; models that needed nothing are not listed.
    @discardableResult
    public func recover() throws -> [ModelRecoveryReport] {
        try withIOErrors {
            try ModelDurableIO.entries(of: "\(dataDirectory)/models").compactMap { name in
                guard ModelStorageLayout.isValidModelName(name) else { return nil }
                return try recover(ModelPaths(dataDirectory: dataDirectory, model: name))
                    .map { ModelRecoveryReport(model: name, outcome: $0) }
            }
        }
    }

    /// Repairs one model's directory after an install failed part-way (as ``recover()`` does after a crash): an
    /// install that had not replaced `current` is undone and its partial files removed.
    @discardableResult
    public func recover(model: String) throws -> ModelRecoveryReport? {
        let paths = try validatedPaths(model)
        return try withIOErrors { try recover(paths).map { ModelRecoveryReport(model: model, outcome: $0) } }
    }

    private func recover(_ paths: ModelPaths) throws -> ModelRecoveryReport.Outcome? {
        var changed = false
        for leftover in [paths.previousTemporary, paths.record + ".tmp", paths.pending + ".tmp"] {
            changed = try ModelDurableIO.removeFile(leftover) || changed
        }
        let pending = try readRecord(paths.pending)
        if let pending, try digest(of: paths.incoming) == pending.sha256 {
            _ = try commit(pending, paths)
            return .completedInstall
        }
        changed = try ModelDurableIO.removeFile(paths.incoming) || changed
        let record = try readRecord(paths.record)
        let currentSize = try ModelDurableIO.fileSize(paths.current)
        let previousSize = try ModelDurableIO.fileSize(paths.previous)
        if pending == nil, let record, currentSize == record.size, previousSize == record.previous?.size {
            if changed { try ModelDurableIO.syncDirectory(paths.directory) }
            return changed ? .repairedRecord : nil
        }
        if pending == nil, record == nil, currentSize == nil {
            try ModelDurableIO.removeFile(paths.previous)
            try ModelDurableIO.syncDirectory(paths.directory)
            return changed || previousSize != nil ? .repairedRecord : nil
        }
        let plan = ModelRecoveryPlan(
            pending: pending,
            record: record,
            currentDigest: try digest(of: paths.current),
            previousDigest: try digest(of: paths.previous)
        )
        try apply(plan, recorded: record, paths)
        return plan.outcome
    }

    /// Carries out a plan in an order that a second crash can resume: the record is written before files
    /// it no longer names are removed, and `pending.json` goes last.
    private func apply(_ plan: ModelRecoveryPlan, recorded: ModelInstallRecord?, _ paths: ModelPaths) throws {
        if let record = plan.record {
            if record != recorded {
                try ModelDurableIO.replaceAtomically(paths.record, with: ModelStateJSON.encode(record))
            }
        } else {
            try ModelDurableIO.removeFile(paths.record)
            try ModelDurableIO.syncDirectory(paths.directory)
        }
        if !plan.keepCurrent { try ModelDurableIO.removeFile(paths.current) }
        if !plan.keepPrevious { try ModelDurableIO.removeFile(paths.previous) }
        try ModelDurableIO.removeFile(paths.pending)
        try ModelDurableIO.syncDirectory(paths.directory)
    }

    /// The hex digest of a file, nil when it does not exist, and "" (matching nothing) when it is too large.
    private func digest(of path: String) throws -> String? {
        do {
            return try ModelDurableIO.readFile(path, limit: maximumModelBytes).map { hash($0).modelHexString }
        } catch let failure as ModelIOFailure where failure.isTooLarge {
            return ""
        }
    }
}

/// The pure decision of recovery's slow path: given what the records say and what the files hash to,
/// which record describes `current` and which files stay.
struct ModelRecoveryPlan: Equatable {
    var record: ModelInstallRecord?
    var keepCurrent: Bool
    var keepPrevious: Bool
    var outcome: ModelRecoveryReport.Outcome

    init(
        pending: ModelInstallRecord?,
        record: ModelInstallRecord?,
        currentDigest: String?,
        previousDigest: String?
    ) {
        var chosen: ModelInstallRecord?
        if let currentDigest, let pending, currentDigest == pending.sha256 {
            chosen = pending
            outcome = .completedInstall
        } else if let currentDigest, let record, currentDigest == record.sha256 {
            chosen = record
            outcome = pending == nil ? .repairedRecord : .abandonedInstall
        } else if currentDigest != nil {
            outcome = .removedUnverifiedModel
        } else {
            outcome = pending == nil ? .repairedRecord : .abandonedInstall
        }
        if var kept = chosen, let previous = kept.previous, previousDigest != previous.sha256 {
            kept.previous = nil
            chosen = kept
        }
        self.record = chosen
        keepCurrent = chosen != nil
        keepPrevious = chosen?.previous != nil
    }
}
