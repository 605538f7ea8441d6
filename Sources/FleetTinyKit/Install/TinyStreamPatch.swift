/// The operation being applied from a stream-mode patch (DELTA.md section 12) and a diff's column sums.
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
    var lengthSums = InlineArray<256, UInt32>(repeating: 0)
    var residualSums = InlineArray<256, Int32>(repeating: 0)
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
            let ready = input.count >= Self.lookahead || inputComplete
            switch phase {
            case .header:
                guard input.count >= Self.headerBytes || inputComplete else { return }
                try readHeader()
            case .operations:
                if operation.remaining == 0 {
                    guard produced < outputSize else {
                        input = TinyInputWindow()  // the output is complete: what follows is not needed
                        return
                    }
                    guard ready else { return }
                    try readOperation()
                } else if operation.kind == 0 {
                    try copy(&flash)
                } else {
                    guard ready else { return }
                    if operation.kind == 1 { try literal(&flash) } else { try element(&flash) }
                }
            case .idle, .failed, .installed:
                return
            }
        }
    }

    private mutating func readHeader() throws(TinyInstallError) {
        guard input.next() == 0x54, input.next() == 0x46, input.next() == 0x44, input.next() == 1 else {
            throw .badMagic
        }
        guard input.next() == 2 else { throw .unsupportedMode }
        guard readUInt32() == oldChecksumValue else { throw .wrongBase }
        declaredNewChecksum = readUInt32()
        var size: UInt64 = 0
        var index = 0
        while true {
            guard index < 9 else { throw .corrupt }
            let byte = input.next()
            size |= UInt64(byte & 0x7F) << UInt64(7 * index)
            index += 1
            if byte & 0x80 == 0 { break }
        }
        guard size <= UInt64(Self.maximumModelSize), Int(size) <= slotCapacity else { throw .tooLarge }
        guard Int(size) == expectedLength else { throw .corrupt }
        outputSize = Int(size)
        decoder.start(&input)
        phase = .operations
    }

    private mutating func readUInt32() -> UInt32 {
        var value: UInt32 = 0
        for shift in 0..<4 { value |= UInt32(input.next()) << UInt32(8 * shift) }
        return value
    }

    private mutating func readOperation() throws(TinyInstallError) {
        let kind = models.operation(&decoder, &input)
        let length = TinyStreamModels.number(&models.lengths, &decoder, &input)
        guard kind <= 2, length >= 1, length <= Int64(outputSize - produced) else { throw .corrupt }
        operation.kind = kind
        operation.remaining = Int(length)
        guard kind != 1 else { return }
        let offset = Int64(operation.lastCopyEnd) + TinyStreamModels.number(&models.offsets, &decoder, &input)
        guard offset >= 0, offset + length <= Int64(oldLength) else { throw .corrupt }
        operation.oldPosition = Int(offset)
        operation.lastCopyEnd = Int(offset + length)
        guard kind == 2 else { return }
        operation.signed = decoder.bit(&models.signed, &input) == 1
        let columns = TinyStreamModels.number(&models.columns, &decoder, &input)
        guard columns >= 1, columns <= Int64(Self.maximumColumns) else { throw .corrupt }
        operation.columns = Int(columns)
        operation.ratio = nil
        if decoder.bit(&models.rescaled, &input) == 1 {
            let high = decoder.direct(16, &input)
            let low = decoder.direct(16, &input)
            operation.ratio = Int64(high << 16 | low)
        }
        for column in 0..<operation.columns {
            operation.lengthSums[column] = 0
            operation.residualSums[column] = 0
        }
        operation.column = 0
        operation.row = 0
        operation.oldLoaded = fill
    }

    private mutating func copy<Flash: TinyFlash>(_ flash: inout Flash) throws(TinyInstallError) {
        let count = min(operation.remaining, pageSize - fill)
        try readOld(at: operation.oldPosition, count: count, &flash)
        operation.oldPosition += count
        try produce(count, &flash)
    }

    private mutating func literal<Flash: TinyFlash>(_ flash: inout Flash) throws(TinyInstallError) {
        self[page: fill] = models.literalByte(&decoder, &input)
        try produce(1, &flash)
    }

    /// Decodes one diff element (DELTA.md 8.2 with 12.4's prediction) in place over its base byte.
    private mutating func element<Flash: TinyFlash>(_ flash: inout Flash) throws(TinyInstallError) {
        if fill >= operation.oldLoaded {
            let count = min(operation.remaining, pageSize - fill)
            try readOld(at: operation.oldPosition, count: count, &flash)
            operation.oldLoaded = fill + count
        }
        let oldByte = self[page: fill]
        let oldValue = operation.signed ? Int(Int8(bitPattern: oldByte)) : Int(oldByte)
        let lowest = operation.signed ? -128 : 0
        var prediction = oldValue
        if let ratio = operation.ratio {
            let product = Int64(oldValue) * ratio
            let rounded = product >= 0 ? (product + 32_768) >> 16 : -((-product + 32_768) >> 16)
            prediction = Int(min(max(rounded, Int64(lowest)), Int64(lowest + 255)))
        }
        let column = operation.column
        let row = operation.row
        let lengthContext =
            row == 0 ? 0 : 1 + Int(min(operation.lengthSums[column] / UInt32(truncatingIfNeeded: row), 4))
        let signContext = 3 * Self.signClass(Int(operation.residualSums[column])) + Self.signClass(oldValue)
        let residual = models.residual(
            lengthContext: lengthContext,
            signContext: signContext,
            &decoder,
            &input
        )
        let value = prediction + residual
        guard value >= lowest, value <= lowest + 255 else { throw .corrupt }
        self[page: fill] = UInt8(truncatingIfNeeded: value)
        operation.lengthSums[column] &+= UInt32(Int.bitWidth - residual.magnitude.leadingZeroBitCount)
        operation.residualSums[column] &+= Int32(residual)
        operation.column += 1
        if operation.column == operation.columns {
            operation.column = 0
            operation.row += 1
        }
        operation.oldPosition += 1
        try produce(1, &flash)
    }

    /// Accounts for `count` bytes placed at `fill` and writes the page when it is full.
    private mutating func produce<Flash: TinyFlash>(_ count: Int, _ flash: inout Flash) throws(TinyInstallError) {
        fill += count
        produced += count
        operation.remaining -= count
        if fill == pageSize { try flushPage(&flash) }
    }

    @inline(__always)
    private static func signClass(_ value: Int) -> Int { value < 0 ? 0 : (value == 0 ? 1 : 2) }
}
