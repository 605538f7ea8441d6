/// The operation being applied from a stream-mode patch (DELTA.md section 12) and a diff's column sums (packed:
/// ``TinyColumnSums``).
struct TinyStreamOperation: Sendable {
    /// 0 copy, 1 literal, 2 diff.
    var kind: UInt32 = 0
    /// Output bytes the operation still produces.
    var remaining = 0
    /// The next base byte a copy or diff reads.
    var oldPosition = 0
    var lastCopyEnd = 0
    /// Page-buffer bytes `[fill, oldLoaded)` already hold the base bytes a diff predicts from.
    var oldLoaded = 0
    var signed = false
    var columns = 1
    var ratio: Int64? = nil
    var column = 0
    var row = 0
    var sums = TinyColumnSums()

    /// No operation in progress (the column sums are reset by each diff).
    mutating func reset() {
        kind = 0
        remaining = 0
        oldPosition = 0
        lastCopyEnd = 0
        oldLoaded = 0
        signed = false
        columns = 1
        ratio = nil
        column = 0
        row = 0
    }
}

extension TinyInstaller {
    /// Input bytes one step may consume at most: an operation head is at most 33 decisions of at most 2 bytes
    /// each (DELTA.md 12.5); the container header with the output size and the coder's first 4 bytes is 26.
    static let lookahead = 66
    private static let headerBytes = 26
    private static let maximumColumns = 256

    /// Runs every step the buffered input allows (all of them once the input is complete).
    mutating func decodeAvailable<Flash: TinyFlash>(_ flash: inout Flash) throws(TinyInstallError) {
        while true {
            let ready = work.input.pointee.count >= Self.lookahead || inputComplete
            switch phase {
            case .header:
                guard work.input.pointee.count >= Self.headerBytes || inputComplete else { return }
                try readHeader()
            case .operations:
                if work.operation.pointee.remaining == 0 {
                    guard produced < outputSize else {
                        work.input.pointee.reset()  // the output is complete: what follows is not needed
                        return
                    }
                    guard ready else { return }
                    try readOperation()
                } else if work.operation.pointee.kind == 0 {
                    try copy(&flash)
                } else {
                    guard ready else { return }
                    if work.operation.pointee.kind == 1 { try literal(&flash) } else { try element(&flash) }
                }
            case .idle, .failed, .installed:
                return
            }
        }
    }

    private mutating func readHeader() throws(TinyInstallError) {
        guard work.input.pointee.next() == 0x54, work.input.pointee.next() == 0x46, work.input.pointee.next() == 0x44,
            work.input.pointee.next() == 1
        else {
            throw .badMagic
        }
        guard work.input.pointee.next() == 2 else { throw .unsupportedMode }
        guard readUInt32() == oldChecksumValue else { throw .wrongBase }
        declaredNewChecksum = readUInt32()
        var size: UInt64 = 0
        var index = 0
        while true {
            guard index < 9 else { throw .corrupt }
            let byte = work.input.pointee.next()
            size |= UInt64(byte & 0x7F) << UInt64(7 * index)
            index += 1
            if byte & 0x80 == 0 { break }
        }
        guard size <= UInt64(Self.maximumModelSize), Int(size) <= slotCapacity else { throw .tooLarge }
        guard Int(size) == expectedLength else { throw .corrupt }
        outputSize = Int(size)
        work.decoder.pointee.start(&work.input.pointee)
        phase = .operations
    }

    private mutating func readUInt32() -> UInt32 {
        var value: UInt32 = 0
        for shift in 0..<4 { value |= UInt32(work.input.pointee.next()) << UInt32(8 * shift) }
        return value
    }

    private mutating func readOperation() throws(TinyInstallError) {
        let kind = work.models.pointee.operation(&work.decoder.pointee, &work.input.pointee)
        let length = work.models.pointee.number(
            TinyStreamModels.Index.lengths,
            &work.decoder.pointee,
            &work.input.pointee
        )
        guard kind <= 2, length >= 1, length <= Int64(outputSize - produced) else { throw .corrupt }
        work.operation.pointee.kind = kind
        work.operation.pointee.remaining = Int(length)
        guard kind != 1 else { return }
        let offset =
            Int64(work.operation.pointee.lastCopyEnd)
            + work.models.pointee.number(TinyStreamModels.Index.offsets, &work.decoder.pointee, &work.input.pointee)
        guard offset >= 0, offset + length <= Int64(oldLength) else { throw .corrupt }
        work.operation.pointee.oldPosition = Int(offset)
        work.operation.pointee.lastCopyEnd = Int(offset + length)
        guard kind == 2 else { return }
        work.operation.pointee.signed =
            work.models.pointee.bit(TinyStreamModels.Index.signed, &work.decoder.pointee, &work.input.pointee) == 1
        let columns = work.models.pointee.number(
            TinyStreamModels.Index.columns,
            &work.decoder.pointee,
            &work.input.pointee
        )
        guard columns >= 1, columns <= Int64(Self.maximumColumns) else { throw .corrupt }
        work.operation.pointee.columns = Int(columns)
        work.operation.pointee.ratio = nil
        if work.models.pointee.bit(TinyStreamModels.Index.rescaled, &work.decoder.pointee, &work.input.pointee) == 1 {
            let high = work.decoder.pointee.direct(16, &work.input.pointee)
            let low = work.decoder.pointee.direct(16, &work.input.pointee)
            work.operation.pointee.ratio = Int64(high << 16 | low)
        }
        let rows = (Int(length) + Int(columns) - 1) / Int(columns)
        guard work.operation.pointee.sums.start(columns: Int(columns), rows: rows) else { throw .tooLarge }
        work.operation.pointee.column = 0
        work.operation.pointee.row = 0
        work.operation.pointee.oldLoaded = fill
    }

    private mutating func copy<Flash: TinyFlash>(_ flash: inout Flash) throws(TinyInstallError) {
        let count = min(work.operation.pointee.remaining, pageSize - fill)
        try readOld(at: work.operation.pointee.oldPosition, count: count, &flash)
        work.operation.pointee.oldPosition += count
        try produce(count, &flash)
    }

    private mutating func literal<Flash: TinyFlash>(_ flash: inout Flash) throws(TinyInstallError) {
        self[page: fill] = work.models.pointee.literalByte(&work.decoder.pointee, &work.input.pointee)
        try produce(1, &flash)
    }

    /// Decodes one diff element (DELTA.md 8.2 with 12.4's prediction) in place over its base byte.
    private mutating func element<Flash: TinyFlash>(_ flash: inout Flash) throws(TinyInstallError) {
        if fill >= work.operation.pointee.oldLoaded {
            let count = min(work.operation.pointee.remaining, pageSize - fill)
            try readOld(at: work.operation.pointee.oldPosition, count: count, &flash)
            work.operation.pointee.oldLoaded = fill + count
        }
        let oldByte = self[page: fill]
        let oldValue = work.operation.pointee.signed ? Int(Int8(bitPattern: oldByte)) : Int(oldByte)
        let lowest = work.operation.pointee.signed ? -128 : 0
        var prediction = oldValue
        if let ratio = work.operation.pointee.ratio {
            let product = Int64(oldValue) * ratio
            let rounded = product >= 0 ? (product + 32_768) >> 16 : -((-product + 32_768) >> 16)
            prediction = Int(min(max(rounded, Int64(lowest)), Int64(lowest + 255)))
        }
        let column = work.operation.pointee.column
        let row = work.operation.pointee.row
        let lengthSum = work.operation.pointee.sums.lengthSum(column)
        let residualSum = work.operation.pointee.sums.residualSum(column)
        let lengthContext = row == 0 ? 0 : 1 + min(lengthSum / row, 4)
        let signContext = 3 * Self.signClass(residualSum) + Self.signClass(oldValue)
        let residual = work.models.pointee.residual(
            lengthContext: lengthContext,
            signContext: signContext,
            &work.decoder.pointee,
            &work.input.pointee
        )
        let value = prediction + residual
        guard value >= lowest, value <= lowest + 255 else { throw .corrupt }
        self[page: fill] = UInt8(truncatingIfNeeded: value)
        work.operation.pointee.sums.add(column, residual: residual, toLengthSum: lengthSum, residualSum: residualSum)
        work.operation.pointee.column += 1
        if work.operation.pointee.column == work.operation.pointee.columns {
            work.operation.pointee.column = 0
            work.operation.pointee.row += 1
        }
        work.operation.pointee.oldPosition += 1
        try produce(1, &flash)
    }

    /// Accounts for `count` bytes placed at `fill` and writes the page when it is full.
    private mutating func produce<Flash: TinyFlash>(_ count: Int, _ flash: inout Flash) throws(TinyInstallError) {
        fill += count
        produced += count
        work.operation.pointee.remaining -= count
        if fill == pageSize { try flushPage(&flash) }
    }

    @inline(__always)
    private static func signClass(_ value: Int) -> Int { value < 0 ? 0 : (value == 0 ? 1 : 2) }
}
