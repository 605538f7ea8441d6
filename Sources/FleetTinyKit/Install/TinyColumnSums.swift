/// The two sums a stream-mode diff keeps per column (DELTA.md 12.4): the sum of its residuals' bit lengths (the
/// length context is that sum over the rows so far, at most 4) and the sum of its residuals (the sign context is
/// its sign). Both exact, as DELTA.md defines them, in a bit-packed array whose field widths each diff sets from
/// its own row count, not 32 bits each: a residual is at most 255 in magnitude (the guard in the element decoder
/// throws before a larger one is added), so after `rows` rows a length sum is at most 8 rows and a residual sum
/// at most 255 rows in magnitude.
///
/// The array holds the widest diff a model of ``TinyInstaller/maximumModelSize`` (8 MiB) can have: 255 columns of
/// 32,897 rows, 44 bits a column (19 + 25), 11,220 bits in 1,408 bytes, where 256 columns of two 32-bit sums took
/// 2,048. A diff of the 52 KB digits model with 256 columns needs 896 bytes of it, one of a 1 MB model 1,184.
struct TinyColumnSums: Sendable {
    /// 11,220 bits rounded up to 351 words, and one word more: a field is read and written through two words.
    private static let wordCount = 352
    private static let capacityBits = 32 * (wordCount - 1)
    private var words = InlineArray<352, UInt32>(repeating: 0)
    private var lengthWidth = 0
    private var residualWidth = 0

    /// Sets the field widths for `columns` columns of at most `rows` rows each and zeroes their sums. False when
    /// they do not fit (never for a diff of a model within ``TinyInstaller/maximumModelSize``).
    mutating func start(columns: Int, rows: Int) -> Bool {
        lengthWidth = Int.bitWidth - (8 * rows).leadingZeroBitCount
        residualWidth = Int.bitWidth - (255 * rows).leadingZeroBitCount + 1
        let bits = columns * (lengthWidth + residualWidth)
        guard residualWidth <= 32, bits <= Self.capacityBits else { return false }
        for index in 0...(bits >> 5) { words[index] = 0 }
        return true
    }

    // The readers are `mutating` though they only read: in Embedded Swift 6.3 a read of an InlineArray through a
    // borrowed `self` copies the whole array onto the stack first (1.4 KB a read, at every diff element), a read
    // through `inout` does not (the frames of `add` and `pair` were 2,836 B and 1,408 B at -O).

    /// The sum of the bit lengths of `column`'s residuals so far.
    mutating func lengthSum(_ column: Int) -> Int {
        Int(field(column * (lengthWidth + residualWidth), lengthWidth))
    }

    /// The sum of `column`'s residuals so far.
    mutating func residualSum(_ column: Int) -> Int {
        let raw = Int(field(column * (lengthWidth + residualWidth) + lengthWidth, residualWidth))
        return raw >> (residualWidth - 1) == 0 ? raw : raw - (1 << residualWidth)
    }

    /// Adds one residual (and its bit length) to `column`'s sums, `lengthSum` and `residualSum` being what
    /// ``lengthSum(_:)`` and ``residualSum(_:)`` read for it (the decoder read them for the contexts already).
    mutating func add(_ column: Int, residual: Int, toLengthSum lengthSum: Int, residualSum: Int) {
        let start = column * (lengthWidth + residualWidth)
        let length = Int.bitWidth - residual.magnitude.leadingZeroBitCount
        setField(start, lengthWidth, UInt64(lengthSum + length))
        setField(start + lengthWidth, residualWidth, UInt64(truncatingIfNeeded: residualSum + residual))
    }

    /// `width` (at most 32) bits from bit `bit`.
    private mutating func field(_ bit: Int, _ width: Int) -> UInt64 {
        let mask: UInt64 = (1 << UInt64(width)) - 1
        return (pair(bit >> 5) >> UInt64(bit & 31)) & mask
    }

    private mutating func setField(_ bit: Int, _ width: Int, _ value: UInt64) {
        let word = bit >> 5
        let shift = UInt64(bit & 31)
        let mask: UInt64 = ((1 << UInt64(width)) - 1) << shift
        let kept: UInt64 = pair(word) & ~mask
        let updated: UInt64 = kept | ((value << shift) & mask)
        words[word] = UInt32(truncatingIfNeeded: updated)
        words[word + 1] = UInt32(truncatingIfNeeded: updated >> 32)
    }

    /// Words `word` and `word + 1` as one 64-bit value.
    private mutating func pair(_ word: Int) -> UInt64 {
        let high: UInt64 = UInt64(words[word + 1]) << 32
        return high | UInt64(words[word])
    }
}
