/// Encoders for the messages a leaf sends (SPEC.md section 5), each a whole frame written into a caller's
/// ``TinyWireWriter``. Text and byte fields are UTF-8 or raw bytes the caller holds; nothing is allocated.
public enum TinyOutbound {
    /// The protocol versions the kit speaks (SPEC.md section 8).
    public static let minimumVersion: UInt64 = 1
    public static let maximumVersion: UInt64 = 2

    /// hello (0x01), role device.
    public static func hello(
        software: UnsafeRawBufferPointer,
        maximumFrameLength: Int,
        into writer: inout TinyWireWriter
    ) throws(TinyWireError) -> UnsafeRawBufferPointer {
        let start = writer.beginFrame(.hello)
        writer.varint(minimumVersion)
        writer.varint(maximumVersion)
        writer.byte(0)
        writer.lengthPrefixed(software)
        writer.varint(maximumFrameLength)
        return try writer.finishFrame(start)
    }

    /// enrol (0x03).
    public static func enrol(
        token: UnsafeRawBufferPointer,
        publicKey: UnsafeRawBufferPointer,
        signature: UnsafeRawBufferPointer,
        name: UnsafeRawBufferPointer,
        labels: UnsafeBufferPointer<TinyPair>,
        capabilities: UnsafeBufferPointer<TinyPair>,
        software: UnsafeRawBufferPointer,
        into writer: inout TinyWireWriter
    ) throws(TinyWireError) -> UnsafeRawBufferPointer {
        guard publicKey.count == 32, signature.count == 64 else { throw .invalidValue }
        let start = writer.beginFrame(.enrol)
        writer.lengthPrefixed(token)
        writer.fixed(publicKey)
        writer.fixed(signature)
        writer.lengthPrefixed(name)
        writer.map(labels)
        writer.map(capabilities)
        writer.lengthPrefixed(software)
        return try writer.finishFrame(start)
    }

    /// authenticate (0x04).
    public static func authenticate(
        deviceID: UnsafeRawBufferPointer,
        nonce: UnsafeRawBufferPointer,
        signature: UnsafeRawBufferPointer,
        into writer: inout TinyWireWriter
    ) throws(TinyWireError) -> UnsafeRawBufferPointer {
        guard nonce.count == 32, signature.count == 64 else { throw .invalidValue }
        let start = writer.beginFrame(.authenticate)
        writer.lengthPrefixed(deviceID)
        writer.fixed(nonce)
        writer.fixed(signature)
        return try writer.finishFrame(start)
    }

    /// A message without fields: heartbeat (0x10) or goodbye (0x14).
    public static func empty(
        _ type: TinyMessageType,
        into writer: inout TinyWireWriter
    ) throws(TinyWireError) -> UnsafeRawBufferPointer {
        guard type == .heartbeat || type == .goodbye else { throw .invalidValue }
        let start = writer.beginFrame(type)
        return try writer.finishFrame(start)
    }

    /// stateReport (0x12) with at most the installed models given (0 or more ``TinyInstalledModel``s).
    public static func stateReport(
        requestID: UInt64,
        software: UnsafeRawBufferPointer,
        capabilities: UnsafeBufferPointer<TinyPair>,
        installed: UnsafeBufferPointer<TinyInstalledModel>,
        into writer: inout TinyWireWriter
    ) throws(TinyWireError) -> UnsafeRawBufferPointer {
        let start = writer.beginFrame(.stateReport)
        writer.varint(requestID)
        writer.lengthPrefixed(software)
        writer.map(capabilities)
        writer.varint(UInt64(installed.count))
        for model in installed {
            model.withFields { name, variant, sha256 in
                writer.lengthPrefixed(name)
                writer.varint(UInt64(model.version))
                writer.lengthPrefixed(variant)
                writer.fixed(sha256)
            }
        }
        return try writer.finishFrame(start)
    }

    /// fetchModel (0x31).
    public static func fetchModel(
        requestID: UInt64,
        model: UnsafeRawBufferPointer,
        version: Int,
        variant: UnsafeRawBufferPointer,
        baseSHA256: UnsafeRawBufferPointer,
        resumePayloadSHA256: UnsafeRawBufferPointer,
        resumeOffset: Int,
        into writer: inout TinyWireWriter
    ) throws(TinyWireError) -> UnsafeRawBufferPointer {
        guard version >= 0, version <= Int(Int32.max), resumeOffset >= 0 else { throw .invalidValue }
        let start = writer.beginFrame(.fetchModel)
        writer.varint(requestID)
        writer.lengthPrefixed(model)
        writer.varint(version)
        writer.lengthPrefixed(variant)
        writer.lengthPrefixed(baseSHA256)
        writer.lengthPrefixed(resumePayloadSHA256)
        writer.varint(resumeOffset)
        return try writer.finishFrame(start)
    }

    /// The fields of a modelReport (0x34), SPEC.md 5.22.
    public struct ModelReport {
        public var requestID: UInt64
        public var model: UnsafeRawBufferPointer
        public var version: Int
        public var variant: UnsafeRawBufferPointer
        /// 0 installed, 1 refused, 2 failed.
        public var outcome: UInt8
        public var code: UnsafeRawBufferPointer
        public var detail: UnsafeRawBufferPointer
        /// 0 full, 1 delta.
        public var encoding: UInt8
        public var wireBytes: Int
        public var resumedFrom: Int
        public var reportID: UInt64

        public init(
            requestID: UInt64,
            model: UnsafeRawBufferPointer,
            version: Int,
            variant: UnsafeRawBufferPointer,
            outcome: UInt8,
            code: UnsafeRawBufferPointer,
            detail: UnsafeRawBufferPointer,
            encoding: UInt8,
            wireBytes: Int,
            resumedFrom: Int,
            reportID: UInt64
        ) {
            self.requestID = requestID
            self.model = model
            self.version = version
            self.variant = variant
            self.outcome = outcome
            self.code = code
            self.detail = detail
            self.encoding = encoding
            self.wireBytes = wireBytes
            self.resumedFrom = resumedFrom
            self.reportID = reportID
        }
    }

    /// modelReport (0x34).
    public static func modelReport(
        _ report: ModelReport,
        into writer: inout TinyWireWriter
    ) throws(TinyWireError) -> UnsafeRawBufferPointer {
        guard report.outcome <= 2, report.encoding <= 1, report.version >= 0, report.version <= Int(Int32.max),
            report.wireBytes >= 0, report.resumedFrom >= 0
        else { throw .invalidValue }
        let start = writer.beginFrame(.modelReport)
        writer.varint(report.requestID)
        writer.lengthPrefixed(report.model)
        writer.varint(report.version)
        writer.lengthPrefixed(report.variant)
        writer.byte(report.outcome)
        writer.lengthPrefixed(report.code)
        writer.lengthPrefixed(report.detail)
        writer.byte(report.encoding)
        writer.varint(report.wireBytes)
        writer.varint(report.resumedFrom)
        writer.varint(report.reportID)
        return try writer.finishFrame(start)
    }
}
