/// A canonical Huffman code (RFC 1951 3.2.2) of up to `Symbols` symbols as counts per length and symbols in code
/// order, decoded bit by bit (puff.c's method), no lookup table: 608 bytes for literals/lengths (288), 96 for
/// distances (32).
struct TinyHuffman<let Symbols: Int>: Sendable {
    var counts = InlineArray<16, UInt16>(repeating: 0)
    var symbols = InlineArray<Symbols, UInt16>(repeating: 0)

    /// Builds the code of `count` symbols whose lengths are `lengths[start ..< start + count]`. False when the
    /// lengths over-subscribe the code space (incomplete codes are accepted; an unused code then fails to decode).
    mutating func build(_ lengths: borrowing InlineArray<320, UInt8>, start: Int, count: Int) -> Bool {
        for length in 0..<16 { counts[length] = 0 }
        for index in 0..<count { counts[Int(lengths[start + index])] += 1 }
        counts[0] = 0
        var left = 1
        for length in 1..<16 {
            left = left * 2 - Int(counts[length])
            guard left >= 0 else { return false }
        }
        var offsets = InlineArray<16, UInt16>(repeating: 0)
        for length in 1..<15 { offsets[length + 1] = offsets[length] + counts[length] }
        for index in 0..<count where lengths[start + index] != 0 {
            let length = Int(lengths[start + index])
            symbols[Int(offsets[length])] = UInt16(index)
            offsets[length] += 1
        }
        return true
    }
}

/// What the inflater does next.
enum TinyInflatePhase: Sendable {
    case zlibHeader
    case blockHeader
    case storedHeader
    case stored
    case dynamicHeader
    case codeLengths
    case symbols
    case copying
    case trailer
    case done
}

/// The state of a zlib (RFC 1950) / DEFLATE (RFC 1951) decoder whose 32 KiB window is the output already written:
/// back-references read the current page buffer or the pages already written to the slot. About 1.1 KB.
struct TinyInflateState: Sendable {
    var phase = TinyInflatePhase.zlibHeader
    var bits: UInt64 = 0
    var bitCount = 0
    var final = false
    var literals = TinyHuffman<288>()
    var distances = TinyHuffman<32>()
    var lengths = InlineArray<320, UInt8>(repeating: 0)
    var literalCount = 0
    var distanceCount = 0
    var lengthIndex = 0
    /// Bytes left of a stored block, or of a back-reference being copied.
    var remaining = 0
    var distance = 0
    var adlerLow: UInt32 = 1
    var adlerHigh: UInt32 = 0

    /// Back to the start of a zlib stream (the tables are rebuilt before use).
    mutating func reset() {
        phase = .zlibHeader
        bits = 0
        bitCount = 0
        final = false
        literalCount = 0
        distanceCount = 0
        lengthIndex = 0
        remaining = 0
        distance = 0
        adlerLow = 1
        adlerHigh = 0
    }
}

extension TinyInstaller {
    /// Input bytes one inflate step may consume at most: a symbol with its extra bits and distance is 48 bits, the
    /// start of a dynamic header 71; 16 covers both with the bit buffer's leftovers.
    static let inflateLookahead = 16

    /// RFC 1951 3.2.5: the base of length code `257 + index` and its extra bits.
    private static func lengthBase(_ index: Int) -> (base: Int, extra: Int) {
        if index < 8 { return (3 + index, 0) }
        if index == 28 { return (258, 0) }
        let extra = (index >> 2) - 1
        return (((4 + (index & 3)) << extra) + 3, extra)
    }

    /// RFC 1951 3.2.5: the base of distance code `code` and its extra bits.
    private static func distanceBase(_ code: Int) -> (base: Int, extra: Int) {
        if code < 4 { return (code + 1, 0) }
        let extra = code / 2 - 1
        return (((2 + code % 2) << extra) + 1, extra)
    }

    /// RFC 1951 3.2.7: the order in which code-length code lengths are stored.
    private static func codeLengthOrder(_ index: Int) -> Int {
        switch index {
        case 0: 16
        case 1: 17
        case 2: 18
        case 3: 0
        default: index % 2 == 0 ? 8 + (index - 4) / 2 : 7 - (index - 5) / 2
        }
    }

    /// Runs every inflate step the buffered input allows.
    mutating func inflateAvailable<Flash: TinyFlash>(_ flash: inout Flash) throws(TinyInstallError) {
        while true {
            let ready = work.input.pointee.count >= Self.inflateLookahead || inputComplete
            switch work.inflate.pointee.phase {
            case .done:
                work.input.pointee.reset()
                return
            case .copying:
                try copyBack(&flash)
            case .stored where work.inflate.pointee.remaining > 0:
                guard work.input.pointee.count > 0 || work.inflate.pointee.bitCount >= 8 || inputComplete else {
                    return
                }
                try emit(UInt8(truncatingIfNeeded: take(8)), &flash)
                work.inflate.pointee.remaining -= 1
            default:
                guard ready else { return }
                try inflateStep(&flash)
            }
        }
    }

    private mutating func inflateStep<Flash: TinyFlash>(_ flash: inout Flash) throws(TinyInstallError) {
        switch work.inflate.pointee.phase {
        case .zlibHeader:
            let header = take(16)
            let (method, flags) = (header & 0xFF, header >> 8)
            guard method & 0x0F == 8, method >> 4 <= 7, (method << 8 | flags) % 31 == 0, flags & 0x20 == 0 else {
                throw .corrupt
            }
            work.inflate.pointee.phase = .blockHeader
        case .blockHeader:
            work.inflate.pointee.final = take(1) == 1
            switch take(2) {
            case 0: work.inflate.pointee.phase = .storedHeader
            case 1:
                fixedCodes()
                work.inflate.pointee.phase = .symbols
            case 2: work.inflate.pointee.phase = .dynamicHeader
            default: throw .corrupt
            }
        case .storedHeader:
            _ = take(work.inflate.pointee.bitCount % 8)
            let length = take(16)
            guard take(16) == length ^ 0xFFFF else { throw .corrupt }
            work.inflate.pointee.remaining = Int(length)
            work.inflate.pointee.phase = .stored
        case .stored:
            work.inflate.pointee.phase = work.inflate.pointee.final ? .trailer : .blockHeader
        case .dynamicHeader:
            try dynamicHeader()
        case .codeLengths:
            try codeLength()
        case .symbols:
            try symbol(&flash)
        case .trailer:
            _ = take(work.inflate.pointee.bitCount % 8)
            var adler: UInt32 = 0
            for _ in 0..<4 { adler = adler << 8 | UInt32(take(8)) }
            guard adler == work.inflate.pointee.adlerHigh << 16 | work.inflate.pointee.adlerLow else {
                throw .checksumMismatch
            }
            work.inflate.pointee.phase = .done
        case .copying, .done:
            break
        }
    }

    /// The next `count` (0...32) bits, least significant first.
    private mutating func take(_ count: Int) -> UInt32 {
        while work.inflate.pointee.bitCount < count {
            work.inflate.pointee.bits |= UInt64(work.input.pointee.next()) << UInt64(work.inflate.pointee.bitCount)
            work.inflate.pointee.bitCount += 8
        }
        let value = UInt32(truncatingIfNeeded: work.inflate.pointee.bits & ((1 << UInt64(count)) - 1))
        work.inflate.pointee.bits >>= UInt64(count)
        work.inflate.pointee.bitCount -= count
        return value
    }

    private mutating func decode(_ distances: Bool) throws(TinyInstallError) -> Int {
        var code = 0
        var first = 0
        var index = 0
        for length in 1..<16 {
            code |= Int(take(1))
            let count = Int(
                distances ? work.inflate.pointee.distances.counts[length] : work.inflate.pointee.literals.counts[length]
            )
            if code - first < count {
                let position = index + code - first
                return Int(
                    distances
                        ? work.inflate.pointee.distances.symbols[position]
                        : work.inflate.pointee.literals.symbols[position]
                )
            }
            index += count
            first = (first + count) << 1
            code <<= 1
        }
        throw .corrupt
    }

    private mutating func fixedCodes() {
        for index in 0..<288 {
            work.inflate.pointee.lengths[index] = index < 144 ? 8 : index < 256 ? 9 : index < 280 ? 7 : 8
        }
        _ = work.inflate.pointee.literals.build(work.inflate.pointee.lengths, start: 0, count: 288)
        for index in 0..<30 { work.inflate.pointee.lengths[index] = 5 }
        _ = work.inflate.pointee.distances.build(work.inflate.pointee.lengths, start: 0, count: 30)
    }

    private mutating func dynamicHeader() throws(TinyInstallError) {
        work.inflate.pointee.literalCount = Int(take(5)) + 257
        work.inflate.pointee.distanceCount = Int(take(5)) + 1
        let codeCount = Int(take(4)) + 4
        guard work.inflate.pointee.literalCount <= 286, work.inflate.pointee.distanceCount <= 30 else { throw .corrupt }
        for index in 0..<19 { work.inflate.pointee.lengths[index] = 0 }
        for index in 0..<codeCount { work.inflate.pointee.lengths[Self.codeLengthOrder(index)] = UInt8(take(3)) }
        // The code-length code lives in the distance table until the distance code replaces it.
        guard work.inflate.pointee.distances.build(work.inflate.pointee.lengths, start: 0, count: 19) else {
            throw .corrupt
        }
        work.inflate.pointee.lengthIndex = 0
        work.inflate.pointee.phase = .codeLengths
    }

    /// One code-length symbol (with its repeat) of a dynamic header; builds both codes after the last.
    private mutating func codeLength() throws(TinyInstallError) {
        let total = work.inflate.pointee.literalCount + work.inflate.pointee.distanceCount
        let symbol = try decode(true)
        var value: UInt8 = 0
        var repeats = 1
        switch symbol {
        case 0..<16: value = UInt8(symbol)
        case 16:
            guard work.inflate.pointee.lengthIndex > 0 else { throw .corrupt }
            value = work.inflate.pointee.lengths[work.inflate.pointee.lengthIndex - 1]
            repeats = 3 + Int(take(2))
        case 17: repeats = 3 + Int(take(3))
        default: repeats = 11 + Int(take(7))
        }
        guard work.inflate.pointee.lengthIndex + repeats <= total else { throw .corrupt }
        for _ in 0..<repeats {
            work.inflate.pointee.lengths[work.inflate.pointee.lengthIndex] = value
            work.inflate.pointee.lengthIndex += 1
        }
        guard work.inflate.pointee.lengthIndex == total else { return }
        guard work.inflate.pointee.lengths[256] != 0,
            work.inflate.pointee.literals.build(
                work.inflate.pointee.lengths,
                start: 0,
                count: work.inflate.pointee.literalCount
            ),
            work.inflate.pointee.distances.build(
                work.inflate.pointee.lengths,
                start: work.inflate.pointee.literalCount,
                count: work.inflate.pointee.distanceCount
            )
        else { throw .corrupt }
        work.inflate.pointee.phase = .symbols
    }

    private mutating func symbol<Flash: TinyFlash>(_ flash: inout Flash) throws(TinyInstallError) {
        let symbol = try decode(false)
        if symbol < 256 {
            try emit(UInt8(symbol), &flash)
            return
        }
        if symbol == 256 {
            work.inflate.pointee.phase = work.inflate.pointee.final ? .trailer : .blockHeader
            return
        }
        let index = symbol - 257
        guard index < 29 else { throw .corrupt }
        let length = Self.lengthBase(index)
        work.inflate.pointee.remaining = length.base + Int(take(length.extra))
        let code = try decode(true)
        guard code < 30 else { throw .corrupt }
        let distance = Self.distanceBase(code)
        work.inflate.pointee.distance = distance.base + Int(take(distance.extra))
        guard work.inflate.pointee.distance <= produced else { throw .corrupt }
        work.inflate.pointee.phase = .copying
    }

    /// Copies a back-reference byte by byte (it may overlap what it writes): from the page buffer, or from the
    /// pages of the slot already written.
    private mutating func copyBack<Flash: TinyFlash>(_ flash: inout Flash) throws(TinyInstallError) {
        while work.inflate.pointee.remaining > 0 {
            let source = produced - work.inflate.pointee.distance
            let pageStart = produced - fill
            var byte: UInt8 = 0
            if source >= pageStart {
                byte = self[page: source - pageStart]
            } else {
                guard withUnsafeMutableBytes(of: &byte, { flash.read(at: targetOffset + source, into: $0) }) else {
                    throw .flash
                }
            }
            work.inflate.pointee.remaining -= 1
            try emit(byte, &flash)
        }
        work.inflate.pointee.phase = .symbols
    }

    /// Appends one inflated byte to the output (Adler-32 included).
    private mutating func emit<Flash: TinyFlash>(_ byte: UInt8, _ flash: inout Flash) throws(TinyInstallError) {
        guard produced < outputSize else { throw .corrupt }
        work.inflate.pointee.adlerLow = (work.inflate.pointee.adlerLow + UInt32(byte)) % 65_521
        work.inflate.pointee.adlerHigh = (work.inflate.pointee.adlerHigh + work.inflate.pointee.adlerLow) % 65_521
        self[page: fill] = byte
        fill += 1
        produced += 1
        if fill == pageSize { try flushPage(&flash) }
    }
}
