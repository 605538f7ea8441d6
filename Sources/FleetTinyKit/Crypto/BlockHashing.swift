/// The buffering and padding shared by SHA-256 and SHA-512 (FIPS 180-4 sections 5.1 and 6): a hash keeps a partial
/// block in its own storage and compresses each full block as it comes.
protocol BlockHashing {
    /// Fixed storage of one block (a tuple of `blockSize` bytes).
    associatedtype Block
    /// 64 for SHA-256, 128 for SHA-512.
    static var blockSize: Int { get }
    /// 8 for SHA-256, 16 for SHA-512: the bytes of the message length at the end of the last block.
    static var lengthFieldSize: Int { get }
    var block: Block { get set }
    /// Bytes hashed so far.
    var length: UInt64 { get set }
    /// Compresses the `blockSize` bytes at `input` into the state.
    mutating func compress(_ input: UnsafeRawPointer)
}

extension BlockHashing {
    mutating func absorb(_ bytes: UnsafeRawBufferPointer) {
        guard var input = bytes.baseAddress, !bytes.isEmpty else { return }
        let blockSize = Self.blockSize
        var remaining = bytes.count
        var buffered = Int(length % UInt64(blockSize))
        length &+= UInt64(remaining)
        if buffered > 0 {
            let taken = min(blockSize - buffered, remaining)
            withUnsafeMutableBytes(of: &block) {
                $0.baseAddress!.advanced(by: buffered).copyMemory(from: input, byteCount: taken)
            }
            input += taken
            remaining -= taken
            buffered += taken
            guard buffered == blockSize else { return }
            compressBufferedBlock()
        }
        while remaining >= blockSize {
            compress(input)
            input += blockSize
            remaining -= blockSize
        }
        if remaining > 0 {
            withUnsafeMutableBytes(of: &block) { $0.baseAddress!.copyMemory(from: input, byteCount: remaining) }
        }
    }

    /// Pads the message (0x80, zeros, the length in bits big-endian) and compresses the last block or two.
    mutating func pad() {
        let blockSize = Self.blockSize
        let buffered = Int(length % UInt64(blockSize))
        let lengthOffset = blockSize - Self.lengthFieldSize
        withUnsafeMutableBytes(of: &block) { raw in
            raw[buffered] = 0x80
            for index in (buffered + 1)..<blockSize { raw[index] = 0 }
        }
        if buffered >= lengthOffset {
            compressBufferedBlock()
            withUnsafeMutableBytes(of: &block) { raw in for index in 0..<lengthOffset { raw[index] = 0 } }
        }
        let bitLength = length &<< 3
        let bitLengthHigh = length >> 61
        withUnsafeMutableBytes(of: &block) { raw in
            if Self.lengthFieldSize == 16 {
                raw.storeBytes(of: bitLengthHigh.bigEndian, toByteOffset: blockSize - 16, as: UInt64.self)
            }
            raw.storeBytes(of: bitLength.bigEndian, toByteOffset: blockSize - 8, as: UInt64.self)
        }
        compressBufferedBlock()
    }

    private mutating func compressBufferedBlock() {
        var copy = block
        withUnsafeBytes(of: &copy) { compress($0.baseAddress!) }
    }
}

/// Writes `words` (a tuple of `Word`) big-endian into `out`.
func storeBigEndian<Words, Word: FixedWidthInteger>(
    _ words: Words,
    as _: Word.Type,
    into out: UnsafeMutableRawBufferPointer
) {
    withUnsafeBytes(of: words) { raw in
        let size = MemoryLayout<Word>.size
        for index in 0..<(raw.count / size) {
            let word = raw.load(fromByteOffset: index * size, as: Word.self)
            out.storeBytes(of: word.bigEndian, toByteOffset: index * size, as: Word.self)
        }
    }
}

/// What tells SHA-512's compression function from SHA-256's: the word, the number of rounds, the rotation and shift
/// amounts of Σ0, Σ1, σ0 and σ1, and the round constants.
protocol SHA2Rounds {
    associatedtype Word: FixedWidthInteger & UnsignedInteger
    static var rounds: Int { get }
    /// Rotations of Σ0.
    static var bigSigma0: (Int, Int, Int) { get }
    /// Rotations of Σ1.
    static var bigSigma1: (Int, Int, Int) { get }
    /// Two rotations and a shift of σ0.
    static var smallSigma0: (Int, Int, Int) { get }
    /// Two rotations and a shift of σ1.
    static var smallSigma1: (Int, Int, Int) { get }
    static func roundConstant(_ round: Int) -> Word
}

extension FixedWidthInteger where Self: UnsignedInteger {
    @inline(__always)
    func rotatedRight(_ count: Int) -> Self { (self >> count) | (self << (Self.bitWidth - count)) }
}

/// One block of the SHA-2 compression function (FIPS 180-4 sections 6.2.2 and 6.4.2), the message schedule kept as
/// a rolling window of 16 words.
@inline(__always)
func sha2Compress<R: SHA2Rounds>(
    _ state: inout (R.Word, R.Word, R.Word, R.Word, R.Word, R.Word, R.Word, R.Word),
    _ input: UnsafeRawPointer,
    _: R.Type
) {
    typealias Word = R.Word
    let size = MemoryLayout<Word>.size
    var window:
        (
            UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
            UInt64, UInt64, UInt64
        ) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    withUnsafeMutableBytes(of: &window) { raw in
        let w = WordWindow<Word>(raw: raw)
        for index in 0..<16 {
            w[index] = Word(bigEndian: input.loadUnaligned(fromByteOffset: index * size, as: Word.self))
        }
        let (bigSigma0, bigSigma1, smallSigma0, smallSigma1) = (R.bigSigma0, R.bigSigma1, R.smallSigma0, R.smallSigma1)
        var (a, b, c, d, e, f, g, h) = state
        for round in 0..<R.rounds {
            let slot = round & 15
            if round >= 16 {
                let w15 = w[(round - 15) & 15]
                let w2 = w[(round - 2) & 15]
                let s0 = w15.rotatedRight(smallSigma0.0) ^ w15.rotatedRight(smallSigma0.1) ^ (w15 >> smallSigma0.2)
                let s1 = w2.rotatedRight(smallSigma1.0) ^ w2.rotatedRight(smallSigma1.1) ^ (w2 >> smallSigma1.2)
                w[slot] = w[slot] &+ s0 &+ w[(round - 7) & 15] &+ s1
            }
            let sum1 = e.rotatedRight(bigSigma1.0) ^ e.rotatedRight(bigSigma1.1) ^ e.rotatedRight(bigSigma1.2)
            let choose = (e & f) ^ (~e & g)
            let t1 = h &+ sum1 &+ choose &+ R.roundConstant(round) &+ w[slot]
            let sum0 = a.rotatedRight(bigSigma0.0) ^ a.rotatedRight(bigSigma0.1) ^ a.rotatedRight(bigSigma0.2)
            let majority = (a & b) ^ (a & c) ^ (b & c)
            (h, g, f, e, d, c, b, a) = (g, f, e, d &+ t1, c, b, a, t1 &+ sum0 &+ majority)
        }
        state.0 &+= a
        state.1 &+= b
        state.2 &+= c
        state.3 &+= d
        state.4 &+= e
        state.5 &+= f
        state.6 &+= g
        state.7 &+= h
    }
}

/// Sixteen words of the message schedule in raw storage, read and written without binding memory.
private struct WordWindow<Word: FixedWidthInteger> {
    let raw: UnsafeMutableRawBufferPointer

    @inline(__always)
    subscript(index: Int) -> Word {
        get { raw.load(fromByteOffset: index &* MemoryLayout<Word>.size, as: Word.self) }
        nonmutating set { raw.storeBytes(of: newValue, toByteOffset: index &* MemoryLayout<Word>.size, as: Word.self) }
    }
}
