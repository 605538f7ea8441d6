/// Argument checks for the model registry, run before touching the database. Each throws `invalidArgument`.
enum ModelValidation {
    static let digestLength = 32
    static let encodings: Set<String> = ["delta", "full"]

    static func variant(_ new: NewModelVariant) throws {
        try name(new.model, "model name")
        try name(new.variant, "variant name")
        try name(new.blobPath, "blob path")
        try nonNegative(new.version, "version")
        try nonNegative(new.size, "size")
        try digest(new.sha256, "sha256")
    }

    static func assignment(_ assignment: ModelAssignment) throws {
        try name(assignment.deviceID, "device id")
        try name(assignment.model, "model name")
        guard (assignment.version == nil) == (assignment.variant == nil) else {
            throw StoreError.invalidArgument.with(
                "assignment of \(assignment.model) to \(assignment.deviceID) needs both version and variant, or neither"
            )
        }
    }

    static func transfer(_ transfer: NewTransfer) throws {
        guard encodings.contains(transfer.encoding) else {
            throw StoreError.invalidArgument.with("unknown transfer encoding \"\(transfer.encoding)\"")
        }
        try nonNegative(transfer.wireBytes, "wireBytes")
        try nonNegative(transfer.fullBytes, "fullBytes")
        try nonNegative(transfer.fileBytes, "fileBytes")
        try nonNegative(transfer.resumedFrom, "resumedFrom")
    }

    static func delta(_ record: DeltaCacheRecord) throws {
        try digest(record.fromSHA256, "fromSHA256")
        try digest(record.toSHA256, "toSHA256")
        try digest(record.payloadSHA256, "payloadSHA256")
        try name(record.encoding, "delta encoding")
        try name(record.path, "delta path")
        try nonNegative(record.size, "size")
    }

    static func digest(_ bytes: [UInt8], _ what: String) throws {
        guard bytes.count == digestLength else {
            throw StoreError.invalidArgument.with("\(what) must be \(digestLength) bytes, got \(bytes.count)")
        }
    }

    private static func name(_ value: String, _ what: String) throws {
        guard !value.isEmpty else {
            throw StoreError.invalidArgument.with("\(what) is empty")
        }
    }

    private static func nonNegative(_ value: Int, _ what: String) throws {
        guard value >= 0 else {
            throw StoreError.invalidArgument.with("\(what) must be at least 0, got \(value)")
        }
    }
}
