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

/// Words in raw fixed storage (a tuple), read and written by index without binding memory.
struct RawWords<Word: FixedWidthInteger> {
    let raw: UnsafeMutableRawBufferPointer

    @inline(__always)
    subscript(index: Int) -> Word {
        get { raw.load(fromByteOffset: index &* MemoryLayout<Word>.size, as: Word.self) }
        nonmutating set { raw.storeBytes(of: newValue, toByteOffset: index &* MemoryLayout<Word>.size, as: Word.self) }
    }
}
